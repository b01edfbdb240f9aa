/* smtp_auth.c: AUTH command argument, strict base64 and SASL PLAIN/LOGIN
 * payload checks (RFC 4954, RFC 4616, RFC 4648). No mechanism state lives
 * here: the session drives the exchange. */
#include "postier.h"

#include <string.h>
#include <strings.h>

#include "proto/smtp_auth.h"

int
smtp_auth_parse(const char *arg, size_t len, enum smtp_auth_mech *mech_r,
	const char **initial_r, size_t *initial_len_r)
{
	*mech_r = SMTP_AUTH_MECH_UNKNOWN;
	*initial_r = NULL;
	*initial_len_r = 0;
	size_t m = 0;
	while (m < len && arg[m] != ' ')
		m++;
	if (m == 0)
		return -1;
	/* sasl-mech = 1*20mech-char, mech-char = UPPER-ALPHA / DIGIT / "-" / "_" */
	if (m > 20)
		return -1;
	for (size_t i = 0; i < m; i++) {
		char c = arg[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return -1;
	}
	if (m == 5 && strncasecmp(arg, "PLAIN", 5) == 0)
		*mech_r = SMTP_AUTH_MECH_PLAIN;
	else if (m == 5 && strncasecmp(arg, "LOGIN", 5) == 0)
		*mech_r = SMTP_AUTH_MECH_LOGIN;
	if (m == len)
		return 0;
	size_t p = m + 1;
	if (p >= len)
		return -1;
	for (size_t i = p; i < len; i++) {
		if (arg[i] == ' ')
			return -1;
	}
	*initial_r = arg + p;
	*initial_len_r = len - p;
	return 0;
}

int
smtp_base64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
smtp_base64_decode(const char *in, size_t len, struct buf *out)
{
	if (len == 1 && in[0] == '=')
		return 0;
	if (len % 4 != 0)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		size_t pad = 0;
		for (size_t k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)in[i + k];
			if (c == '=') {
				/* padding only in the last quantum, at its end */
				if (i + 4 != len || k < 2)
					return -1;
				pad++;
				v[k] = 0;
				continue;
			}
			if (pad > 0)
				return -1;
			v[k] = smtp_base64_value(c);
			if (v[k] < 0)
				return -1;
		}
		unsigned long q = ((unsigned long)v[0] << 18) |
			((unsigned long)v[1] << 12) | ((unsigned long)v[2] << 6) |
			(unsigned long)v[3];
		char bytes[3] = {
			(char)((q >> 16) & 0xff), (char)((q >> 8) & 0xff),
			(char)(q & 0xff)
		};
		/* non-canonical encodings (stray low bits) are refused */
		if ((pad == 1 && (q & 0xff) != 0) ||
		    (pad == 2 && (q & 0xffff) != 0))
			return -1;
		buf_append(out, bytes, 3 - pad);
	}
	return 0;
}

void
smtp_base64_encode(const void *data, size_t len, struct buf *out)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i += 3) {
		unsigned long q = (unsigned long)p[i] << 16;
		if (i + 1 < len)
			q |= (unsigned long)p[i + 1] << 8;
		if (i + 2 < len)
			q |= p[i + 2];
		char enc[4] = {
			alphabet[(q >> 18) & 63], alphabet[(q >> 12) & 63],
			i + 1 < len ? alphabet[(q >> 6) & 63] : '=',
			i + 2 < len ? alphabet[q & 63] : '=',
		};
		buf_append(out, enc, 4);
	}
}

int
smtp_auth_plain_split(char *msg, size_t len, const char **authzid_r,
	const char **authcid_r, const char **passwd_r)
{
	char *nul1 = memchr(msg, '\0', len);
	if (nul1 == NULL)
		return -1;
	char *authcid = nul1 + 1;
	size_t rest = len - (size_t)(authcid - msg);
	char *nul2 = memchr(authcid, '\0', rest);
	if (nul2 == NULL)
		return -1;
	char *passwd = nul2 + 1;
	size_t plen = len - (size_t)(passwd - msg);
	size_t zlen = (size_t)(nul1 - msg);
	size_t clen = (size_t)(nul2 - authcid);
	/* a third NUL (in the password) is malformed */
	if (memchr(passwd, '\0', plen) != NULL)
		return -1;
	if (clen == 0 || plen == 0 || clen > SMTP_AUTH_MAX_FIELD_BYTES ||
	    plen > SMTP_AUTH_MAX_FIELD_BYTES || zlen > SMTP_AUTH_MAX_FIELD_BYTES)
		return -1;
	/* passwd ends at msg[len], which the caller guarantees is NUL */
	if (msg[len] != '\0')
		return -1;
	*authzid_r = msg;
	*authcid_r = authcid;
	*passwd_r = passwd;
	return 0;
}

int
smtp_auth_login_check(const char *value, size_t len)
{
	if (len == 0 || len > SMTP_AUTH_MAX_FIELD_BYTES)
		return -1;
	return memchr(value, '\0', len) == NULL ? 0 : -1;
}

void
smtp_auth_wipe(struct buf *b)
{
	if (b->data != NULL && b->cap > 0) {
		/* volatile so the stores are not optimised away */
		volatile char *p = b->data;
		for (size_t i = 0; i < b->cap; i++)
			p[i] = 0;
	}
	buf_reset(b);
}
