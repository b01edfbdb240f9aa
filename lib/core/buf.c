/* buf.c: growable byte buffers. */
#include "postier.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/xmalloc.h"

void
buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void
buf_clear(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

char *
buf_reserve(struct buf *b, size_t n)
{
	PASSERT(n < SIZE_MAX / 2 - b->len);
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap < 64 ? 64 : b->cap;
		while (cap < b->len + n + 1)
			cap *= 2;
		b->data = xrealloc(b->data, cap);
		b->cap = cap;
	}
	return b->data + b->len;
}

void
buf_commit(struct buf *b, size_t n)
{
	PASSERT(b->len + n < b->cap);
	b->len += n;
	b->data[b->len] = '\0';
}

void
buf_append(struct buf *b, const void *data, size_t n)
{
	char *p = buf_reserve(b, n);
	if (n > 0)
		memcpy(p, data, n);
	buf_commit(b, n);
}

void
buf_append_str(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

void
buf_append_char(struct buf *b, char c)
{
	buf_append(b, &c, 1);
}

void
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	PASSERT(n >= 0);
	char *p = buf_reserve(b, (size_t)n);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	buf_commit(b, (size_t)n);
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void
buf_consume(struct buf *b, size_t n)
{
	PASSERT(n <= b->len);
	if (n == 0)
		return;
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

void
buf_truncate(struct buf *b, size_t n)
{
	PASSERT(n <= b->len);
	b->len = n;
	if (b->data != NULL)
		b->data[n] = '\0';
}

char *
buf_steal(struct buf *b)
{
	char *p = b->data != NULL ? b->data : xstrdup("");
	buf_init(b);
	return p;
}

static bool
logvalue_is_bare(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
		c == '@' || c == ':' || c == '/' || c == '+';
}

void
buf_append_logvalue(struct buf *b, const char *s, size_t len,
	size_t max_bytes)
{
	bool bare = len > 0 && len <= max_bytes;
	for (size_t i = 0; bare && i < len; i++)
		bare = logvalue_is_bare((unsigned char)s[i]);
	if (bare) {
		buf_append(b, s, len);
		return;
	}
	buf_append_char(b, '"');
	size_t n = len > max_bytes ? max_bytes : len;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			buf_append_char(b, '\\');
			buf_append_char(b, (char)c);
		} else if (c == '\n') {
			buf_append_str(b, "\\n");
		} else if (c == '\r') {
			buf_append_str(b, "\\r");
		} else if (c == '\t') {
			buf_append_str(b, "\\t");
		} else if (c < 0x20 || c >= 0x7f) {
			buf_printf(b, "\\x%02x", c);
		} else {
			buf_append_char(b, (char)c);
		}
	}
	if (len > max_bytes)
		buf_append_str(b, "...");
	buf_append_char(b, '"');
}
