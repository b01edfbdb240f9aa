/* fuzz_client_imap_resp.c: the IMAP response parser on arbitrary bytes, in
 * tagged and stop-at-untagged modes, whole and split; runs must agree. */
#include "postier.h"

#include <string.h>

#include "client/imap_resp.h"

static int
run(const uint8_t *data, size_t size, size_t split, bool stop, size_t *llen_r)
{
	struct imap_resp_parser p;
	imap_resp_parser_init(&p);
	imap_resp_parser_expect(&p, "a1", stop);
	size_t pos = 0, used;
	const char *error;
	int ret = 0;
	while (pos < size) {
		size_t end = pos < split && split < size ? split : size;
		ret = imap_resp_parse(&p, data + pos, end - pos, &used, &error);
		pos += used;
		if (ret != 0)
			break;
	}
	*llen_r = buf_len(&p.resp.literals);
	imap_resp_parser_clear(&p);
	return ret;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	bool stop = (data[0] & 1) != 0;
	size_t split = (data[0] >> 1) % (size + 1);
	size_t l1, l2;
	int r1 = run(data + 1, size - 1, (size_t)-1, stop, &l1);
	int r2 = run(data + 1, size - 1, split, stop, &l2);
	PASSERT(r1 == r2);
	if (r1 == 1)
		PASSERT(l1 == l2);
	return 0;
}
