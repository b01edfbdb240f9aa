/* test_pop3_command.c: POP3 command lines, whole and one byte at a time. */
#include "postier.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/buf.h"
#include "proto/pop3_command.h"

static void
run(const char *in, size_t step, struct buf *out)
{
	struct pop3_parser *p = pop3_parser_new(64);
	struct pop3_command cmd;
	pop3_command_init(&cmd);
	size_t len = strlen(in), pos = 0;
	while (pos < len) {
		size_t n = len - pos < step ? len - pos : step, used;
		const char *error;
		int ret = pop3_parser_parse(p, in + pos, n, &used, &cmd, &error);
		pos += used;
		if (ret < 0) {
			buf_printf(out, "ERR %s\n", error);
		} else if (ret == 1) {
			buf_printf(out, "%d %s", cmd.cmd, cmd.keyword);
			for (unsigned int i = 0; i < cmd.n_args; i++)
				buf_printf(out, " [%s]", cmd.args[i]);
			if (cmd.cmd == POP3_CMD_PASS || cmd.cmd == POP3_CMD_AUTH)
				buf_printf(out, " rest=[%s]", cmd.rest);
			buf_append_char(out, '\n');
		}
	}
	pop3_command_clear(&cmd);
	pop3_parser_free(&p);
}

static void
test_commands(void **state)
{
	(void)state;
	static const struct {
		const char *name, *in, *want;
	} rows[] = {
		{ "user", "USER bob\r\n", "1 USER [bob]\n" },
		{ "lower case", "user bob\n", "1 USER [bob]\n" },
		{ "pass with spaces", "PASS my secret pw\r\n",
		  "2 PASS rest=[my secret pw]\n" },
		{ "pass 8-bit", "PASS p\xc3\xa4ss\r\n", "2 PASS rest=[p\xc3\xa4ss]\n" },
		{ "top", "TOP 1 10\r\n", "14 TOP [1] [10]\n" },
		{ "stat", "STAT\r\n", "8 STAT\n" },
		{ "list arg", "LIST 3\r\n", "9 LIST [3]\n" },
		{ "uidl", "UIDL\r\nQUIT\r\n", "15 UIDL\n7 QUIT\n" },
		{ "auth ir", "AUTH PLAIN AGJvYgBwdw==\r\n",
		  "4 AUTH [PLAIN] [AGJvYgBwdw==] rest=[PLAIN]\n" },
		{ "unknown keyword", "XYZZ 1\r\n", "0 XYZZ [1]\n" },
		{ "trailing space", "STAT \r\n", "8 STAT\n" },
		{ "empty line", "\r\nNOOP\r\n", "ERR Empty command\n12 NOOP\n" },
		{ "long keyword", "RETRIEVE 1\r\n", "ERR Invalid command keyword\n" },
		{ "short keyword", "RE 1\r\n", "ERR Invalid command keyword\n" },
		{ "digit keyword", "RET1 1\r\n", "ERR Invalid command keyword\n" },
		{ "too many args", "TOP 1 2 3\r\n", "ERR Too many arguments\n" },
		{ "8-bit arg", "USER b\xc3\xb6\r\n", "ERR 8-bit byte in command\n" },
		{ "control char", "US\x01R x\r\n", "ERR Control character in command\n" },
		{ "too long", "USER aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\nNOOP\r\n",
		  "ERR Line too long\n12 NOOP\n" },
	};
	for (size_t i = 0; i < N_ELEMENTS(rows); i++) {
		struct buf whole, bytes;
		buf_init(&whole);
		buf_init(&bytes);
		run(rows[i].in, strlen(rows[i].in), &whole);
		run(rows[i].in, 1, &bytes);
		if (strcmp(buf_data(&whole), rows[i].want) != 0)
			fail_msg("row '%s' whole: got\n%swant\n%s", rows[i].name,
				buf_data(&whole), rows[i].want);
		if (strcmp(buf_data(&bytes), rows[i].want) != 0)
			fail_msg("row '%s' bytewise: got\n%swant\n%s",
				rows[i].name, buf_data(&bytes), rows[i].want);
		buf_clear(&whole);
		buf_clear(&bytes);
	}
}

static void
test_numbers(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int ret;
		uint32_t n;
	} rows[] = {
		{ "1", 0, 1 }, { "0", 0, 0 }, { "007", 0, 7 },
		{ "4294967295", 0, 4294967295u }, { "4294967296", -1, 0 },
		{ "99999999999999999999", -1, 0 }, { "", -1, 0 },
		{ "+1", -1, 0 }, { "-1", -1, 0 }, { "1a", -1, 0 },
	};
	for (size_t i = 0; i < N_ELEMENTS(rows); i++) {
		uint32_t n = 0;
		int ret = pop3_parse_number(rows[i].in, &n);
		if (ret != rows[i].ret || (ret == 0 && n != rows[i].n))
			fail_msg("row '%s': ret %d n %u", rows[i].in, ret, n);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_numbers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
