/* mime_decode.c: encoded-words, transfer encodings, charsets and case
 * folding for SEARCH (see mime_decode.h). */
#include "postier.h"

#include <errno.h>
#include <iconv.h>
#include <locale.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <wctype.h>

#include "core/buf.h"
#include "proto/mime_decode.h"
#include "proto/smtp_auth.h"

/* A charset name longer than this is not one (RFC 2978 names are short). */
#define MIME_CHARSET_MAX 64

static int
mime_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Base64 of [s, s+len) appended to out; characters outside the alphabet
 * (line breaks, padding, damage) are skipped. */
static void
mime_base64_decode(const char *s, size_t len, struct buf *out)
{
	uint32_t acc = 0;
	int bits = 0;
	unsigned char *w = (unsigned char *)buf_reserve(out, len / 4 * 3 + 3);
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		int v = smtp_base64_value((unsigned char)s[i]);
		if (v < 0)
			continue;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			w[n++] = (unsigned char)(acc >> bits);
		}
	}
	buf_commit(out, n);
}

/* Quoted-printable; header: the Q encoding of RFC 2047 4.2 ("_" = space). */
static void
mime_qp_decode(const char *s, size_t len, bool header, struct buf *out)
{
	char *w = buf_reserve(out, len);
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '_' && header) {
			w[n++] = ' ';
		} else if (c == '=' && i + 1 < len) {
			int hi = mime_hex((unsigned char)s[i + 1]);
			int lo = i + 2 < len ? mime_hex((unsigned char)s[i + 2]) : -1;
			if (hi >= 0 && lo >= 0) {
				w[n++] = (char)(hi << 4 | lo);
				i += 2;
			} else if (s[i + 1] == '\r' || s[i + 1] == '\n') {
				/* soft line break: "=" CRLF */
				i++;
				if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n')
					i++;
			} else {
				w[n++] = c;
			}
		} else {
			w[n++] = c;
		}
	}
	buf_commit(out, n);
}

static bool
mime_charset_is_utf8(const char *cs)
{
	return cs == NULL || *cs == '\0' || strcasecmp(cs, "utf-8") == 0 ||
		strcasecmp(cs, "utf8") == 0 || strcasecmp(cs, "us-ascii") == 0 ||
		strcasecmp(cs, "ascii") == 0;
}

/* Bytes [s, s+len) in charset, appended as UTF-8. */
static void
mime_charset_convert(const char *charset, const char *s, size_t len,
	struct buf *out)
{
	if (mime_charset_is_utf8(charset)) {
		buf_append(out, s, len);
		return;
	}
	iconv_t cd = iconv_open("UTF-8", charset);
	if (cd == (iconv_t)-1) {
		buf_append(out, s, len); /* unknown charset: as it is */
		return;
	}
	char *in = (char *)s;
	size_t in_left = len;
	while (in_left > 0) {
		size_t room = in_left * 4 + 16;
		char *w = buf_reserve(out, room);
		char *wp = w;
		size_t out_left = room;
		size_t r = iconv(cd, &in, &in_left, &wp, &out_left);
		buf_commit(out, (size_t)(wp - w));
		if (r != (size_t)-1)
			break;
		if (errno == E2BIG)
			continue;
		/* EILSEQ, or EINVAL (cut short): U+FFFD, skip one byte */
		buf_append_str(out, "\xef\xbf\xbd");
		in++;
		in_left--;
	}
	iconv_close(cd);
}

/* One encoded-word at s[0] == '=', s[1] == '?': decodes it into out and
 * returns its length, or 0 when it is not one. */
static size_t
mime_encoded_word(const char *s, size_t len, struct buf *out)
{
	/* =?charset?E?text?= */
	size_t i = 2;
	while (i < len && s[i] != '?' && s[i] != ' ' && s[i] != '\t' &&
	       s[i] != '\r' && s[i] != '\n')
		i++;
	if (i >= len || s[i] != '?' || i == 2 || i - 2 > MIME_CHARSET_MAX)
		return 0;
	char charset[MIME_CHARSET_MAX + 1];
	memcpy(charset, s + 2, i - 2);
	charset[i - 2] = '\0';
	/* RFC 2231 5: charset*language */
	char *star = strchr(charset, '*');
	if (star != NULL)
		*star = '\0';
	if (i + 2 >= len || s[i + 2] != '?')
		return 0;
	char enc = s[i + 1];
	if (enc != 'B' && enc != 'b' && enc != 'Q' && enc != 'q')
		return 0;
	size_t text = i + 3, end = text;
	while (end + 1 < len && !(s[end] == '?' && s[end + 1] == '=')) {
		if (s[end] == ' ' || s[end] == '\t' || s[end] == '\r' ||
		    s[end] == '\n')
			return 0; /* no white space inside a word */
		end++;
	}
	if (end + 1 >= len)
		return 0;
	struct buf raw;
	buf_init(&raw);
	if (enc == 'B' || enc == 'b')
		mime_base64_decode(s + text, end - text, &raw);
	else
		mime_qp_decode(s + text, end - text, true, &raw);
	mime_charset_convert(charset, buf_data(&raw), buf_len(&raw), out);
	buf_clear(&raw);
	return end + 2;
}

void
mime_header_decode(const char *v, size_t len, struct buf *out)
{
	size_t i = 0;
	bool after_word = false;
	while (i < len) {
		if (v[i] == '=' && i + 1 < len && v[i + 1] == '?') {
			size_t n = mime_encoded_word(v + i, len - i, out);
			if (n > 0) {
				i += n;
				after_word = true;
				continue;
			}
		}
		if (after_word && (v[i] == ' ' || v[i] == '\t' ||
				   v[i] == '\r' || v[i] == '\n')) {
			/* white space between two encoded-words goes */
			size_t j = i;
			while (j < len && (v[j] == ' ' || v[j] == '\t' ||
					   v[j] == '\r' || v[j] == '\n'))
				j++;
			if (j + 1 < len && v[j] == '=' && v[j + 1] == '?') {
				struct buf probe;
				buf_init(&probe);
				size_t n = mime_encoded_word(v + j, len - j, &probe);
				buf_clear(&probe);
				if (n > 0) {
					i = j;
					continue;
				}
			}
		}
		after_word = false;
		buf_append_char(out, v[i]);
		i++;
	}
}

void
mime_body_decode(const char *data, size_t len, const char *encoding,
	const char *charset, struct buf *out)
{
	struct buf raw;
	buf_init(&raw);
	const char *d = data;
	size_t n = len;
	if (encoding != NULL && strcasecmp(encoding, "base64") == 0) {
		mime_base64_decode(data, len, &raw);
		d = buf_data(&raw);
		n = buf_len(&raw);
	} else if (encoding != NULL &&
		   strcasecmp(encoding, "quoted-printable") == 0) {
		mime_qp_decode(data, len, false, &raw);
		d = buf_data(&raw);
		n = buf_len(&raw);
	}
	mime_charset_convert(charset, d, n, out);
	buf_clear(&raw);
}

static locale_t mime_utf8_locale;
static pthread_once_t mime_utf8_once = PTHREAD_ONCE_INIT;

static void
mime_utf8_locale_init(void)
{
	mime_utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

/* The code point of the UTF-8 sequence at s (*n: its length), or -1 with
 * *n = 1 when the byte does not start a valid sequence. */
static int32_t
mime_utf8_next(const unsigned char *s, size_t len, size_t *n)
{
	*n = 1;
	if (s[0] < 0x80)
		return s[0];
	size_t want;
	int32_t cp;
	if ((s[0] & 0xe0) == 0xc0) {
		want = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		want = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		want = 4;
		cp = s[0] & 0x07;
	} else {
		return -1;
	}
	if (want > len)
		return -1;
	for (size_t k = 1; k < want; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (s[k] & 0x3f);
	}
	static const int32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	if (cp < min[want] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*n = want;
	return cp;
}

static void
mime_utf8_put(int32_t cp, struct buf *out)
{
	char b[4];
	size_t n;
	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12);
		b[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | cp >> 18);
		b[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		b[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	buf_append(out, b, n);
}

void
mime_utf8_fold(const char *s, size_t len, struct buf *out)
{
	pthread_once(&mime_utf8_once, mime_utf8_locale_init);
	const unsigned char *u = (const unsigned char *)s;
	(void)buf_reserve(out, len);
	size_t i = 0;
	while (i < len) {
		/* ASCII runs: the common case, without the locale */
		size_t start = i;
		while (i < len && u[i] < 0x80)
			i++;
		if (i > start) {
			char *w = buf_reserve(out, i - start);
			for (size_t k = start; k < i; k++) {
				unsigned char c = u[k];
				w[k - start] = (char)(c >= 'A' && c <= 'Z' ?
					c + ('a' - 'A') : c);
			}
			buf_commit(out, i - start);
			continue;
		}
		size_t n;
		int32_t cp = mime_utf8_next(u + i, len - i, &n);
		if (cp < 0) {
			buf_append_char(out, (char)u[i]);
		} else {
			if (mime_utf8_locale != (locale_t)0)
				cp = (int32_t)towlower_l((wint_t)cp,
					mime_utf8_locale);
			mime_utf8_put(cp, out);
		}
		i += n;
	}
}
