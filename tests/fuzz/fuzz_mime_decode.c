/* fuzz_mime_decode.c: header fields and bodies from the network (any
 * bytes) through encoded-word decoding, base64/quoted-printable, charset
 * conversion and case folding, as SEARCH does. */
#include "postier.h"

#include <stdint.h>
#include <stdlib.h>

#include "core/buf.h"
#include "proto/mime_decode.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const charsets[] = {
		NULL, "utf-8", "iso-8859-1", "windows-1252", "iso-2022-jp",
		"shift_jis", "utf-16", "x-unknown",
	};
	static const char *const encodings[] = {
		NULL, "base64", "quoted-printable",
	};
	const char *d = (const char *)data;
	struct buf out, folded;
	buf_init(&out);
	buf_init(&folded);
	mime_header_decode(d, size, &out);
	mime_utf8_fold(buf_data(&out), buf_len(&out), &folded);
	if (size >= 2) {
		buf_reset(&out);
		buf_reset(&folded);
		mime_body_decode(d + 2, size - 2,
			encodings[data[0] % N_ELEMENTS(encodings)],
			charsets[data[1] % N_ELEMENTS(charsets)], &out);
		mime_utf8_fold(buf_data(&out), buf_len(&out), &folded);
	}
	mime_utf8_fold(d, size, &folded);
	buf_clear(&out);
	buf_clear(&folded);
	return 0;
}
