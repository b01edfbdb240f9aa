/* fuzz_client_smtp_reply.c: the SMTP reply parser on arbitrary bytes, whole
 * and split at a data-chosen point; both runs must agree. */
#include "postier.h"

#include <string.h>

#include "client/smtp_reply.h"

static int
run(const uint8_t *data, size_t size, size_t split, int *code_r)
{
	struct smtp_reply_parser p;
	smtp_reply_parser_init(&p);
	size_t pos = 0, used;
	const char *error;
	int ret = 0;
	while (pos < size) {
		size_t end = pos < split && split < size ? split : size;
		ret = smtp_reply_parse(&p, data + pos, end - pos, &used, &error);
		pos += used;
		if (ret != 0)
			break;
	}
	*code_r = p.reply.code;
	smtp_reply_parser_clear(&p);
	return ret;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t split = data[0] % (size + 1);
	int c1, c2;
	int r1 = run(data + 1, size - 1, (size_t)-1, &c1);
	int r2 = run(data + 1, size - 1, split, &c2);
	PASSERT(r1 == r2);
	if (r1 == 1)
		PASSERT(c1 == c2);
	return 0;
}
