/* fuzz_imap_envelope.c: a message from the network (any bytes) through
 * CRLF normalization, the MIME parser, ENVELOPE, BODYSTRUCTURE and every
 * section lookup FETCH can do. */
#include "postier.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "proto/imap_envelope.h"
#include "proto/mime_part.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf msg, out;
	buf_init(&msg);
	buf_init(&out);
	mime_crlf_normalize((const char *)data, size, &msg);
	/* the result is CRLF, grown by what mime_crlf_extra() said, and the
	 * in-place form gives the same bytes */
	if (mime_crlf_extra(buf_data(&msg), buf_len(&msg)) != 0 ||
	    buf_len(&msg) != size + mime_crlf_extra((const char *)data, size))
		abort();
	struct buf inplace;
	buf_init(&inplace);
	buf_append(&inplace, data, size);
	mime_crlf_normalize_buf(&inplace);
	if (buf_len(&inplace) != buf_len(&msg) ||
	    memcmp(buf_data(&inplace), buf_data(&msg), buf_len(&msg)) != 0)
		abort();
	buf_clear(&inplace);
	struct mime_part *root = mime_parse(buf_data(&msg), buf_len(&msg));
	imap_envelope_append(&out, buf_data(&msg), root);
	imap_bodystructure_append(&out, buf_data(&msg), root, true);
	imap_bodystructure_append(&out, buf_data(&msg), root, false);
	static const uint32_t paths[][3] = {
		{ 1, 0, 0 }, { 2, 0, 0 }, { 1, 1, 0 }, { 1, 2, 0 }, { 2, 1, 1 },
	};
	for (size_t i = 0; i < N_ELEMENTS(paths); i++) {
		for (unsigned int n = 1; n <= 3; n++) {
			const struct mime_part *p = mime_part_find(root,
				paths[i], n);
			if (p != NULL && p->body_off + p->body_len > buf_len(&msg))
				abort();
		}
	}
	mime_part_free(&root);
	buf_clear(&msg);
	buf_clear(&out);
	return 0;
}
