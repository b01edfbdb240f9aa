/* mime_part.h: the MIME structure of one message held in memory, for IMAP
 * BODYSTRUCTURE, ENVELOPE and BODY[section] (a pure function over bytes).
 *
 *   RFC 5322 2.1: message = header-section CRLF body; a header field may be
 *     folded over lines starting with WSP.
 *   RFC 2045 5.1: Content-Type := type "/" subtype *(";" parameter)
 *   RFC 2046 5.1.1: multipart body = [preamble CRLF] dash-boundary
 *     transport-padding CRLF body-part *encapsulation close-delimiter
 *     ...; the CRLF before a delimiter belongs to the delimiter.
 *   RFC 2046 5.2.1: message/rfc822 encapsulates a whole message.
 *
 * The parser never fails: damaged input gives a best-effort structure, as
 * clients expect of Dovecot. Nesting is cut at MIME_MAX_DEPTH and
 * MIME_MAX_PARTS (deeper content stays a leaf). Offsets are into the buffer
 * given to mime_parse(), which must outlive the tree. Line ends: the caller
 * normalizes to CRLF first (IMAP counts sizes with CRLF). */
#ifndef PROTO_MIME_PART_H
#define PROTO_MIME_PART_H

#include <stddef.h>
#include "postier.h"
#include "core/buf.h"

#define MIME_MAX_DEPTH 50
#define MIME_MAX_PARTS 1000

struct mime_param {
	char *name, *value;
};

struct mime_part {
	size_t hdr_off, hdr_len;   /* header block with its blank line */
	size_t body_off, body_len;
	unsigned int body_lines;
	char *type, *subtype;      /* as written; NULL when defaulted */
	struct mime_param *params;
	unsigned int n_params;
	char *id, *description, *encoding, *md5, *language, *location;
	char *disposition;
	struct mime_param *disp_params;
	unsigned int n_disp_params;
	struct mime_part *children; /* multipart */
	unsigned int n_children;
	struct mime_part *message;  /* message/rfc822: the inner message */
	bool is_multipart, is_message, is_text;
};

/* Parses data (CRLF line ends) into a new tree. */
struct mime_part *mime_parse(const char *data, size_t len);
void mime_part_free(struct mime_part **part);

/* The value of the first header field called name (case-insensitive) in
 * the block [off, off+len) of data, unfolded (CRLF WSP -> WSP), appended to
 * value. Returns 1 found, 0 not. */
int mime_header_get(const char *data, size_t off, size_t len,
	const char *name, struct buf *value);

/* Appends a copy of data with every bare LF turned into CRLF (and a lone CR
 * into CRLF), the form IMAP sizes and sections are counted in. */
void mime_crlf_normalize(const char *data, size_t len, struct buf *out);
/* How many bytes that adds (0: the data is CRLF already). */
size_t mime_crlf_extra(const char *data, size_t len);
/* Makes b's contents CRLF in place, without a copy when they already are
 * (mail postierd received over SMTP is stored that way). */
void mime_crlf_normalize_buf(struct buf *b);

/* The part named by an IMAP section part number list (RFC 3501 6.4.5):
 * n_parts 0 is the message itself; "1" of a non-multipart message is its
 * body. Returns NULL when there is no such part. */
const struct mime_part *mime_part_find(const struct mime_part *root,
	const uint32_t *parts, unsigned int n_parts);

#endif
