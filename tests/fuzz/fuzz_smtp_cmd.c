/* fuzz_smtp_cmd.c: command lines, MAIL/RCPT paths and parameters, HELO and
 * AUTH arguments, as a client could send them. Checks invariants of the
 * parsed path (NUL-terminated, within bounds, domain inside addr). */
#include "postier.h"

#include <stdlib.h>
#include <string.h>

#include "proto/smtp_auth.h"
#include "proto/smtp_cmd.h"

static void
check_path(const struct smtp_path *p)
{
	size_t n = strnlen(p->addr, sizeof(p->addr));
	if (n >= sizeof(p->addr) || p->domain < p->addr || p->domain > p->addr + n)
		abort();
	if (p->local_len > n)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data;
	struct smtp_cmd cmd;
	const struct smtp_error *err;

	if (smtp_cmd_parse(line, size, &cmd, &err) < 0) {
		if (err == NULL || err->code < 400)
			abort();
		return 0;
	}
	if (cmd.arg < line || cmd.arg + cmd.arg_len > line + size)
		abort();
	struct smtp_mail_args margs;
	if (smtp_mail_parse(cmd.arg, cmd.arg_len, &margs, &err) == 0)
		check_path(&margs.path);
	struct smtp_path rpath;
	if (smtp_rcpt_parse(cmd.arg, cmd.arg_len, &rpath, &err) == 0)
		check_path(&rpath);
	(void)smtp_helo_parse(cmd.arg, cmd.arg_len, &err);
	uint64_t bdat_size;
	bool bdat_last;
	(void)smtp_bdat_parse(cmd.arg, cmd.arg_len, &bdat_size, &bdat_last, &err);
	enum smtp_auth_mech mech;
	const char *init;
	size_t init_len;
	if (smtp_auth_parse(cmd.arg, cmd.arg_len, &mech, &init, &init_len) == 0 &&
	    init != NULL) {
		if (init < cmd.arg || init + init_len > cmd.arg + cmd.arg_len)
			abort();
	}
	return 0;
}
