/* fuzz_client_pop3_reply.c: the POP3 response parser on arbitrary bytes,
 * single- and multi-line, whole and split; both runs must agree. */
#include "postier.h"

#include <string.h>

#include "client/pop3_reply.h"

static int
run(const uint8_t *data, size_t size, size_t split, bool multi, size_t *blen_r)
{
	struct pop3_reply_parser p;
	pop3_reply_parser_init(&p);
	pop3_reply_parser_expect(&p, multi);
	size_t pos = 0, used;
	const char *error;
	int ret = 0;
	while (pos < size) {
		size_t end = pos < split && split < size ? split : size;
		ret = pop3_reply_parse(&p, data + pos, end - pos, &used, &error);
		pos += used;
		if (ret != 0)
			break;
	}
	*blen_r = buf_len(&p.reply.body);
	pop3_reply_parser_clear(&p);
	return ret;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	bool multi = (data[0] & 1) != 0;
	size_t split = (data[0] >> 1) % (size + 1);
	size_t b1, b2;
	int r1 = run(data + 1, size - 1, (size_t)-1, multi, &b1);
	int r2 = run(data + 1, size - 1, split, multi, &b2);
	PASSERT(r1 == r2);
	if (r1 == 1)
		PASSERT(b1 == b2);
	return 0;
}
