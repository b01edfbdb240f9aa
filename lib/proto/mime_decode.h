/* mime_decode.h: the text of a message as its reader sees it, for IMAP
 * SEARCH (RFC 3501 6.4.4: "the string is searched for in the ... field"
 * means the decoded text, as Dovecot and Cyrus do):
 *
 *   RFC 2047 2, 4: encoded-word = "=?" charset "?" encoding "?" text "?="
 *     with encoding B (base64) or Q (quoted-printable, "_" is a space);
 *     white space between two adjacent encoded-words is dropped (6.2);
 *   RFC 2045 6.7, 6.8: quoted-printable and base64 bodies;
 *   charsets converted to UTF-8 with iconv (glibc): an unknown charset
 *     leaves the bytes as they are, a byte the charset does not allow
 *     becomes U+FFFD;
 *   comparisons after Unicode lower-casing (towlower in C.UTF-8).
 *
 * Pure functions over bytes: any input gives some output, never a failure. */
#ifndef PROTO_MIME_DECODE_H
#define PROTO_MIME_DECODE_H

#include <stddef.h>
#include "postier.h"
#include "core/buf.h"

/* Appends header value [v, v+len) with its encoded-words decoded (UTF-8). */
void mime_header_decode(const char *v, size_t len, struct buf *out);

/* Appends body bytes with the transfer encoding undone ("base64",
 * "quoted-printable"; anything else or NULL: as they are) and converted
 * from charset to UTF-8 (NULL, "us-ascii", "utf-8": as they are). */
void mime_body_decode(const char *data, size_t len, const char *encoding,
	const char *charset, struct buf *out);

/* Appends UTF-8 text lower-cased character by character; bytes that are
 * not UTF-8 are kept as they are. */
void mime_utf8_fold(const char *s, size_t len, struct buf *out);

#endif
