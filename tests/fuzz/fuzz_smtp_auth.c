/* fuzz_smtp_auth.c: base64 decoding and SASL PLAIN splitting of client AUTH
 * responses; whatever decodes must re-encode to the same text. */
#include "postier.h"

#include <stdlib.h>
#include <string.h>

#include "proto/smtp_auth.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf out, enc;
	buf_init(&out);
	buf_init(&enc);
	if (smtp_base64_decode((const char *)data, size, &out) == 0) {
		smtp_base64_encode(buf_data(&out), buf_len(&out), &enc);
		bool empty_marker = size == 1 && data[0] == '=';
		if (!empty_marker && (buf_len(&enc) != size ||
		    memcmp(buf_data(&enc), data, size) != 0))
			abort();
		const char *z, *c, *p;
		if (buf_len(&out) > 0 && smtp_auth_plain_split(out.data,
		    buf_len(&out), &z, &c, &p) == 0) {
			if (strlen(c) == 0 || strlen(p) == 0)
				abort();
		}
	}
	/* the raw bytes as a PLAIN message too */
	struct buf raw;
	buf_init(&raw);
	buf_append(&raw, data, size);
	const char *z, *c, *p;
	if (size > 0)
		(void)smtp_auth_plain_split(raw.data, size, &z, &c, &p);
	smtp_auth_wipe(&out);
	buf_clear(&raw);
	buf_clear(&out);
	buf_clear(&enc);
	return 0;
}
