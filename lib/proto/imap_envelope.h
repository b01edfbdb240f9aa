/* imap_envelope.h: IMAP ENVELOPE, BODY and BODYSTRUCTURE text from a
 * parsed message (mime_part.h), and IMAP string quoting.
 *
 *   RFC 3501 7.4.2: envelope = "(" env-date SP env-subject SP env-from SP
 *     env-sender SP env-reply-to SP env-to SP env-cc SP env-bcc SP
 *     env-in-reply-to SP env-message-id ")"
 *   address = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"
 *   body = "(" (body-type-1part / body-type-mpart) ")"
 * Header values are sent as they are written (encoded-words kept), as
 * Dovecot does. Addresses are read leniently (RFC 5322 3.4 with groups,
 * comments and obsolete routes); a missing local part or domain becomes
 * MISSING_MAILBOX / MISSING_DOMAIN like Dovecot. */
#ifndef PROTO_IMAP_ENVELOPE_H
#define PROTO_IMAP_ENVELOPE_H

#include <stddef.h>
#include "postier.h"
#include "core/buf.h"
#include "proto/mime_part.h"

/* Appends s as an IMAP string: quoted when it is short 7-bit text without
 * CR/LF/NUL, else a literal. */
void imap_append_string(struct buf *out, const char *s, size_t len);
/* The same, NIL for NULL. */
void imap_append_nstring(struct buf *out, const char *s);

/* ENVELOPE of the message whose header is part->hdr_off/hdr_len in data. */
void imap_envelope_append(struct buf *out, const char *data,
	const struct mime_part *part);
/* BODYSTRUCTURE (extended) or BODY (not extended) of part. */
void imap_bodystructure_append(struct buf *out, const char *data,
	const struct mime_part *part, bool extended);
/* The address list of a header value as IMAP text (NIL when empty). */
void imap_address_list_append(struct buf *out, const char *value);

#endif
