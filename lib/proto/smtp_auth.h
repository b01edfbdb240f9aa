/* smtp_auth.h: SASL payloads of SMTP AUTH (RFC 4954) for the PLAIN
 * (RFC 4616) and LOGIN mechanisms: strict base64 decoding and the PLAIN
 * message split. Pure functions over bytes; no I/O. Decoded secrets live in
 * the caller's buffer: callers wipe it (smtp_auth_wipe()) when done. */
#ifndef PROTO_SMTP_AUTH_H
#define PROTO_SMTP_AUTH_H

#include <stddef.h>
#include "postier.h"
#include "core/buf.h"

/* RFC 4616 2: authcid and passwd are at most 255 octets. */
#define SMTP_AUTH_MAX_FIELD_BYTES 255
/* The longest client response line accepted (base64 of a PLAIN message
 * with three maximal fields, plus slack). */
#define SMTP_AUTH_MAX_RESPONSE_BYTES 12288

enum smtp_auth_mech {
	SMTP_AUTH_MECH_UNKNOWN,
	SMTP_AUTH_MECH_PLAIN,
	SMTP_AUTH_MECH_LOGIN,
};

/* RFC 4954 4: "AUTH" SP sasl-mech [SP initial-response]; initial-response
 * is base64 or "=" (empty). Sets *mech_r and *initial_r / *initial_len_r
 * (borrowed, NULL when absent). Returns 0, or -1 for a syntax error
 * (501 5.5.4). An unknown mechanism is not an error here: mech
 * SMTP_AUTH_MECH_UNKNOWN (504 5.5.4). */
int smtp_auth_parse(const char *arg, size_t len, enum smtp_auth_mech *mech_r,
	const char **initial_r, size_t *initial_len_r);

/* RFC 4648 4 base64, strict: alphabet A-Z a-z 0-9 + /, padding required so
 * the length is a multiple of 4, no whitespace, no data after padding, and
 * the unused bits of the last quantum must be zero. "=" alone decodes to
 * nothing (RFC 4954 4). Appends the decoded bytes to out. Returns 0 or -1
 * (501 5.5.2); out may then hold partial output (wipe it). */
int smtp_base64_decode(const char *in, size_t len, struct buf *out);
/* The 6-bit value of a base64 alphabet character, or -1. */
int smtp_base64_value(unsigned char c);
/* Appends the base64 of data (for 334 challenges and tests). */
void smtp_base64_encode(const void *data, size_t len, struct buf *out);

/* RFC 4616 2: message = [authzid] UTF8NUL authcid UTF8NUL passwd.
 * msg/len is the decoded message. Exactly two NULs; authcid and passwd
 * non-empty and at most 255 octets; authzid empty or at most 255 octets.
 * On success the three fields are NUL-terminated C strings inside msg
 * (borrowed: msg must be writable and one byte longer than len, as a
 * struct buf is). Returns 0 or -1 (535 5.7.8 for a malformed message). */
int smtp_auth_plain_split(char *msg, size_t len, const char **authzid_r,
	const char **authcid_r, const char **passwd_r);

/* A LOGIN username or password: non-empty, at most 255 octets, no NUL.
 * Returns 0 or -1. */
int smtp_auth_login_check(const char *value, size_t len);

/* Overwrites the buffer's bytes with zeros and empties it (passwords). */
void smtp_auth_wipe(struct buf *b);

#endif
