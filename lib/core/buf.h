/* buf.h: growable bytes. Any append may move the data: re-read buf_data()
 * after every append. The contents are always NUL-terminated (the NUL is not
 * counted in buf_len()), so text can be read as a C string. */
#ifndef CORE_BUF_H
#define CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include "postier.h"

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

/* Embedded use: buf_init() then buf_clear() to release. */
void buf_init(struct buf *b);
void buf_clear(struct buf *b);
/* Empties the buffer and keeps its memory. */
void buf_reset(struct buf *b);

static inline const char *
buf_data(const struct buf *b)
{
	return b->data != NULL ? b->data : "";
}

static inline size_t
buf_len(const struct buf *b)
{
	return b->len;
}

/* Makes room for at least n more bytes and returns where they go; commit them
 * with buf_commit(). */
char *buf_reserve(struct buf *b, size_t n);
void buf_commit(struct buf *b, size_t n);

void buf_append(struct buf *b, const void *data, size_t n);
void buf_append_str(struct buf *b, const char *s);
void buf_append_char(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) ATTR_PRINTF(2, 3);
void buf_vprintf(struct buf *b, const char *fmt, va_list ap) ATTR_PRINTF(2, 0);
/* Drops the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);
/* Shortens the contents to n bytes (n <= len). */
void buf_truncate(struct buf *b, size_t n);
/* Returns the contents as a heap string owned by the caller and leaves the
 * buffer empty (initialised). */
char *buf_steal(struct buf *b);

/* Appends s as a key=value value for logs: bare when it is a plain token
 * (letters, digits, . _ - @ : / +), otherwise double-quoted with ", \ and
 * control or 8-bit bytes escaped (\n, \t, \xNN). At most max_bytes of s are
 * written; a longer value ends in "..." inside the quotes. */
void buf_append_logvalue(struct buf *b, const char *s, size_t len,
	size_t max_bytes);

#endif
