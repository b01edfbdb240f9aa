/* fuzz_smtp_data.c: the DATA reader fed the input whole and in pieces whose
 * sizes come from the input's first byte: both runs must produce the same
 * message, size, flags and end position, and memory must stay bounded.
 * The first byte also selects BDAT chunking mode. */
#include "postier.h"

#include <stdlib.h>
#include <string.h>

#include "proto/smtp_data.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t step = (data[0] % 17) + 1;
	size_t max_line = 3 + (data[0] % 64);
	const char *in = (const char *)data + 1;
	size_t len = size - 1;

	struct smtp_data_reader a, b;
	struct buf out_a, out_b;
	buf_init(&out_a);
	buf_init(&out_b);
	smtp_data_reader_init(&a, max_line, 4096);
	smtp_data_reader_init(&b, max_line, 4096);
	/* the top bit selects BDAT chunking mode */
	a.chunking = b.chunking = (data[0] & 0x80) != 0;

	size_t used_a;
	int ret_a = smtp_data_parse(&a, in, len, &out_a, &used_a);

	size_t pos = 0;
	int ret_b = 0;
	while (pos < len && ret_b == 0) {
		size_t n = len - pos < step ? len - pos : step;
		size_t u;
		ret_b = smtp_data_parse(&b, in + pos, n, &out_b, &u);
		if (u > n)
			abort();
		pos += u;
	}
	if (ret_a != ret_b || (ret_a == 1 && used_a != pos))
		abort();
	if (a.chunking) {
		if (ret_a != 0)
			abort();
		smtp_data_finish(&a, &out_a);
		smtp_data_finish(&b, &out_b);
	}
	if (buf_len(&out_a) != buf_len(&out_b) ||
	    memcmp(buf_data(&out_a), buf_data(&out_b), buf_len(&out_a)) != 0)
		abort();
	if (a.size != b.size || a.too_big != b.too_big ||
	    a.line_too_long != b.line_too_long ||
	    a.header_bytes != b.header_bytes || a.bare_lf_lines != b.bare_lf_lines)
		abort();
	if (!a.too_big && a.size != buf_len(&out_a))
		abort();
	if (a.partial.cap > 2 * max_line + 64 || b.partial.cap > 2 * max_line + 64)
		abort();
	smtp_data_reader_clear(&a);
	smtp_data_reader_clear(&b);
	buf_clear(&out_a);
	buf_clear(&out_b);
	return 0;
}
