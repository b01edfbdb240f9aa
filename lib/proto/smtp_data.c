/* smtp_data.c: the DATA reader; see smtp_data.h for the policy. The line
 * function holds the whole policy; the raw parser only finds lines. */
#include "postier.h"

#include <string.h>

#include "proto/smtp_data.h"

void
smtp_data_reader_init(struct smtp_data_reader *r, size_t max_line_bytes,
	uint64_t max_size)
{
	memset(r, 0, sizeof(*r));
	PASSERT(max_line_bytes >= 3);
	r->max_line_bytes = max_line_bytes;
	r->max_size = max_size;
	buf_init(&r->partial);
	smtp_data_reader_reset(r);
}

void
smtp_data_reader_clear(struct smtp_data_reader *r)
{
	buf_clear(&r->partial);
}

void
smtp_data_reader_reset(struct smtp_data_reader *r)
{
	r->size = 0;
	r->header_bytes = 0;
	r->in_headers = true;
	r->too_big = false;
	r->line_too_long = false;
	r->lines = 0;
	r->bare_lf_lines = 0;
	r->done = false;
	r->prev_crlf = true;
	r->discarding = false;
	buf_reset(&r->partial);
}

int
smtp_data_line(struct smtp_data_reader *r, const char *line, size_t len,
	unsigned int flags, struct buf *out)
{
	bool crlf = (flags & SMTP_DATA_LINE_CRLF) != 0;

	PASSERT(!r->done);
	/* RFC 5321 4.5.2: end of data is "." alone on a line; only after a
	 * CRLF and before a CRLF (smuggling: see smtp_data.h) */
	if (!r->chunking && len == 1 && line[0] == '.' && crlf &&
	    r->prev_crlf) {
		r->done = true;
		return 1;
	}
	r->lines++;
	r->prev_crlf = crlf;
	if (!crlf)
		r->bare_lf_lines++;
	/* RFC 5321 4.5.3.1.6: a text line is at most 1000 octets, CRLF
	 * included, counted as sent (before unstuffing) */
	if ((flags & SMTP_DATA_LINE_TOO_LONG) != 0 ||
	    len + 2 > r->max_line_bytes)
		r->line_too_long = true;
	/* RFC 5321 4.5.2: a leading period is removed (not in BDAT chunks) */
	if (!r->chunking && len > 0 && line[0] == '.') {
		line++;
		len--;
	}
	if (r->in_headers) {
		if (len == 0) {
			r->in_headers = false;
			r->header_bytes = r->size;
		}
	}
	r->size += len + 2;
	if (r->in_headers)
		r->header_bytes = r->size;
	if (r->max_size > 0 && r->size > r->max_size)
		r->too_big = true;
	if (!r->too_big) {
		char *p = buf_reserve(out, len + 2);
		memcpy(p, line, len);
		p[len] = '\r';
		p[len + 1] = '\n';
		buf_commit(out, len + 2);
	}
	return 0;
}

/* Delivers one complete line (content without LF) to smtp_data_line(). */
static int
raw_line(struct smtp_data_reader *r, const char *line, size_t len,
	unsigned int flags, struct buf *out)
{
	if (len > 0 && line[len - 1] == '\r') {
		len--;
		flags |= SMTP_DATA_LINE_CRLF;
	}
	return smtp_data_line(r, line, len, flags, out);
}

int
smtp_data_parse(struct smtp_data_reader *r, const char *data, size_t len,
	struct buf *out, size_t *used_r)
{
	size_t pos = 0;
	/* the longest line content kept: limit minus LF (the CR, if any, is
	 * part of the content until the LF comes) */
	size_t keep = r->max_line_bytes - 1;

	while (pos < len) {
		const char *lf = memchr(data + pos, '\n', len - pos);
		size_t avail = (lf != NULL ? (size_t)(lf - data) : len) - pos;

		if (r->discarding) {
			/* the rest of a line already reported too long */
			if (lf == NULL) {
				pos = len;
				break;
			}
			r->discarding = false;
			pos += avail + 1;
			continue;
		}
		if (buf_len(&r->partial) == 0 && lf != NULL && avail <= keep) {
			/* the common case: a whole line in place, no copy */
			int ret = raw_line(r, data + pos, avail, 0, out);
			pos += avail + 1;
			if (ret > 0) {
				*used_r = pos;
				return 1;
			}
			continue;
		}
		/* a line split across pieces, or too long */
		size_t room = keep - buf_len(&r->partial);
		size_t take = avail < room ? avail : room;
		buf_append(&r->partial, data + pos, take);
		pos += take;
		if (take < avail) {
			/* over the limit: report what we have, drop the rest;
			 * CR at the cut is content, not a line end */
			smtp_data_line(r, buf_data(&r->partial),
				buf_len(&r->partial), SMTP_DATA_LINE_TOO_LONG |
				SMTP_DATA_LINE_CRLF, out);
			buf_reset(&r->partial);
			r->discarding = true;
			continue;
		}
		if (lf == NULL)
			break;
		pos++; /* the LF */
		int ret = raw_line(r, buf_data(&r->partial),
			buf_len(&r->partial), 0, out);
		buf_reset(&r->partial);
		if (ret > 0) {
			*used_r = pos;
			return 1;
		}
	}
	*used_r = len;
	return 0;
}

void
smtp_data_finish(struct smtp_data_reader *r, struct buf *out)
{
	if (buf_len(&r->partial) > 0 && !r->discarding) {
		(void)raw_line(r, buf_data(&r->partial), buf_len(&r->partial),
			SMTP_DATA_LINE_CRLF, out);
	}
	buf_reset(&r->partial);
	r->discarding = false;
	r->done = true;
}
