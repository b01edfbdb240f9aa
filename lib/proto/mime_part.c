/* mime_part.c: lenient MIME structure parser (see mime_part.h). */
#include "postier.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/xmalloc.h"
#include "proto/mime_part.h"

struct mime_ctx {
	const char *data;
	unsigned int parts;
};

/* The index of the first CR or LF at or after i, or len. Eight bytes at a
 * time: a byte equal to c makes (x ^ c*ones) have a zero byte, which the
 * usual (v - ones) & ~v & highs test finds. */
static size_t
mime_next_eol(const char *data, size_t i, size_t len)
{
	const uint64_t ones = 0x0101010101010101ULL;
	const uint64_t highs = 0x8080808080808080ULL;
	const uint64_t lf = ones * '\n', cr = ones * '\r';
	while (i + 8 <= len) {
		uint64_t w;
		memcpy(&w, data + i, sizeof(w));
		uint64_t a = w ^ lf, b = w ^ cr;
		if ((((a - ones) & ~a) | ((b - ones) & ~b)) & highs)
			break;
		i += 8;
	}
	while (i < len && data[i] != '\n' && data[i] != '\r')
		i++;
	return i;
}

/* Whether every LF follows a CR and every CR precedes an LF: for i >= 1,
 * (data[i] == LF) must equal (data[i-1] == CR). Sixteen bytes at a time
 * with GCC/clang vector extensions (SSE2/NEON, or plain code elsewhere). */
typedef signed char mime_v16 __attribute__((vector_size(16)));

static bool
mime_is_crlf(const char *data, size_t len)
{
	if (len == 0)
		return true;
	if (data[0] == '\n' || data[len - 1] == '\r')
		return false;
	mime_v16 acc = { 0 };
	size_t i = 1;
	for (; i + 16 <= len; i += 16) {
		mime_v16 cur, prev;
		memcpy(&cur, data + i, sizeof(cur));
		memcpy(&prev, data + i - 1, sizeof(prev));
		acc |= (cur == '\n') ^ (prev == '\r');
	}
	uint64_t w[2];
	memcpy(w, &acc, sizeof(w));
	if ((w[0] | w[1]) != 0)
		return false;
	for (; i < len; i++) {
		if ((data[i] == '\n') != (data[i - 1] == '\r'))
			return false;
	}
	return true;
}

size_t
mime_crlf_extra(const char *data, size_t len)
{
	if (mime_is_crlf(data, len))
		return 0;
	size_t extra = 0;
	for (size_t i = mime_next_eol(data, 0, len); i < len;
	     i = mime_next_eol(data, i, len)) {
		if (data[i] == '\r' && i + 1 < len && data[i + 1] == '\n') {
			i += 2;
			continue;
		}
		extra++; /* a bare LF or a lone CR */
		i++;
	}
	return extra;
}

void
mime_crlf_normalize(const char *data, size_t len, struct buf *out)
{
	size_t extra = mime_crlf_extra(data, len);
	char *p = buf_reserve(out, len + extra);
	if (extra == 0) {
		memcpy(p, data, len);
		buf_commit(out, len);
		return;
	}
	char *w = p;
	size_t start = 0;
	for (size_t i = mime_next_eol(data, 0, len); i < len;
	     i = mime_next_eol(data, i, len)) {
		size_t eol = data[i] == '\r' && i + 1 < len &&
			data[i + 1] == '\n' ? 2 : 1;
		memcpy(w, data + start, i - start);
		w += i - start;
		*w++ = '\r';
		*w++ = '\n';
		i += eol;
		start = i;
	}
	memcpy(w, data + start, len - start);
	w += len - start;
	buf_commit(out, (size_t)(w - p));
}

void
mime_crlf_normalize_buf(struct buf *b)
{
	if (mime_crlf_extra(buf_data(b), buf_len(b)) == 0)
		return;
	struct buf out;
	buf_init(&out);
	mime_crlf_normalize(buf_data(b), buf_len(b), &out);
	buf_clear(b);
	*b = out;
}

int
mime_header_get(const char *data, size_t off, size_t len, const char *name,
	struct buf *value)
{
	size_t nlen = strlen(name);
	size_t end = off + len;
	size_t p = off;
	while (p < end) {
		const char *line = data + p;
		const char *nl = memchr(line, '\n', end - p);
		size_t llen = nl != NULL ? (size_t)(nl - line) + 1 : end - p;
		if (llen > nlen && strncasecmp(line, name, nlen) == 0 &&
		    (line[nlen] == ':' || line[nlen] == ' ' ||
		     line[nlen] == '\t')) {
			const char *v = line + nlen;
			while (*v == ' ' || *v == '\t')
				v++;
			if (*v != ':')
				goto next;
			v++;
			/* this line and its continuations */
			size_t q = (size_t)(v - data);
			bool first = true;
			for (;;) {
				const char *l = data + q;
				const char *e = memchr(l, '\n', end - q);
				size_t n = e != NULL ? (size_t)(e - l) : end - q;
				size_t content = n;
				if (content > 0 && l[content - 1] == '\r')
					content--;
				if (!first)
					buf_append_char(value, ' ');
				const char *c = l;
				if (!first) {
					while (content > 0 && (*c == ' ' ||
							       *c == '\t')) {
						c++;
						content--;
					}
				} else {
					while (content > 0 && (*c == ' ' ||
							       *c == '\t')) {
						c++;
						content--;
					}
				}
				buf_append(value, c, content);
				first = false;
				q += n + (e != NULL ? 1 : 0);
				if (q >= end || (data[q] != ' ' && data[q] != '\t'))
					break;
			}
			return 1;
		}
next:
		p += llen;
	}
	return 0;
}

static void
mime_skip_ws(const char **s)
{
	for (;;) {
		while (**s == ' ' || **s == '\t')
			(*s)++;
		if (**s != '(')
			return;
		/* RFC 5322 3.2.2 comment, nested */
		int depth = 0;
		while (**s != '\0') {
			if (**s == '\\' && (*s)[1] != '\0')
				(*s)++;
			else if (**s == '(')
				depth++;
			else if (**s == ')' && --depth == 0) {
				(*s)++;
				break;
			}
			(*s)++;
		}
	}
}

/* RFC 2045 5.1: token or quoted-string. Returns heap text or NULL. */
static char *
mime_token(const char **s)
{
	mime_skip_ws(s);
	struct buf b;
	buf_init(&b);
	if (**s == '"') {
		(*s)++;
		while (**s != '\0' && **s != '"') {
			if (**s == '\\' && (*s)[1] != '\0')
				(*s)++;
			buf_append_char(&b, **s);
			(*s)++;
		}
		if (**s == '"')
			(*s)++;
		return buf_steal(&b);
	}
	while (**s != '\0' && strchr("()<>@,;:\\\"/[]?= \t", **s) == NULL) {
		buf_append_char(&b, **s);
		(*s)++;
	}
	if (buf_len(&b) == 0) {
		buf_clear(&b);
		return NULL;
	}
	return buf_steal(&b);
}

static void
mime_params(const char *s, struct mime_param **params_r, unsigned int *n_r)
{
	for (;;) {
		mime_skip_ws(&s);
		if (*s != ';')
			return;
		s++;
		char *name = mime_token(&s);
		if (name == NULL) {
			if (*s == '\0')
				return;
			continue;
		}
		mime_skip_ws(&s);
		if (*s != '=') {
			free(name);
			continue;
		}
		s++;
		char *value = mime_token(&s);
		if (value == NULL)
			value = xstrdup("");
		if (*n_r >= 64) {
			free(name);
			free(value);
			continue;
		}
		*params_r = xrealloc(*params_r, (*n_r + 1) * sizeof(**params_r));
		(*params_r)[*n_r].name = name;
		(*params_r)[*n_r].value = value;
		(*n_r)++;
	}
}

static char *
mime_header_dup(const char *data, const struct mime_part *p, const char *name)
{
	struct buf v;
	buf_init(&v);
	if (mime_header_get(data, p->hdr_off, p->hdr_len, name, &v) == 0) {
		buf_clear(&v);
		return NULL;
	}
	/* trim */
	size_t n = buf_len(&v);
	while (n > 0 && (v.data[n - 1] == ' ' || v.data[n - 1] == '\t'))
		n--;
	buf_truncate(&v, n);
	return buf_steal(&v);
}

static const char *
mime_param_get(const struct mime_part *p, const char *name)
{
	for (unsigned int i = 0; i < p->n_params; i++) {
		if (strcasecmp(p->params[i].name, name) == 0)
			return p->params[i].value;
	}
	return NULL;
}

static void mime_parse_part(struct mime_ctx *ctx, struct mime_part *p,
	size_t start, size_t end, unsigned int depth, bool digest_child);

/* Next line start after pos, or end. */
static size_t
mime_next_line(const char *d, size_t pos, size_t end)
{
	const char *nl = memchr(d + pos, '\n', end - pos);
	return nl != NULL ? (size_t)(nl - d) + 1 : end;
}

static void
mime_parse_multipart(struct mime_ctx *ctx, struct mime_part *p,
	const char *boundary, unsigned int depth)
{
	const char *d = ctx->data;
	size_t blen = strlen(boundary);
	size_t end = p->body_off + p->body_len;
	size_t pos = p->body_off;
	size_t part_start = 0;
	bool in_part = false;
	bool digest = strcasecmp(p->subtype, "digest") == 0;
	while (pos < end) {
		size_t next = mime_next_line(d, pos, end);
		bool delim = next - pos >= blen + 2 && d[pos] == '-' &&
			d[pos + 1] == '-' &&
			memcmp(d + pos + 2, boundary, blen) == 0;
		bool close = delim && next - pos >= blen + 4 &&
			d[pos + 2 + blen] == '-' && d[pos + 3 + blen] == '-';
		if (delim) {
			if (in_part && ctx->parts < MIME_MAX_PARTS) {
				/* the CRLF before the delimiter is its own */
				size_t pend = pos;
				if (pend > part_start && d[pend - 1] == '\n')
					pend--;
				if (pend > part_start && d[pend - 1] == '\r')
					pend--;
				p->children = xrealloc(p->children,
					(p->n_children + 1) *
					sizeof(*p->children));
				struct mime_part *c =
					&p->children[p->n_children++];
				memset(c, 0, sizeof(*c));
				ctx->parts++;
				mime_parse_part(ctx, c, part_start,
					pend < part_start ? part_start : pend,
					depth + 1, digest);
			}
			if (close)
				return;
			in_part = true;
			part_start = next;
		}
		pos = next;
	}
	if (in_part && ctx->parts < MIME_MAX_PARTS) {
		/* no close delimiter: the last part runs to the end */
		p->children = xrealloc(p->children,
			(p->n_children + 1) * sizeof(*p->children));
		struct mime_part *c = &p->children[p->n_children++];
		memset(c, 0, sizeof(*c));
		ctx->parts++;
		mime_parse_part(ctx, c, part_start, end, depth + 1, digest);
	}
}

static void
mime_parse_part(struct mime_ctx *ctx, struct mime_part *p, size_t start,
	size_t end, unsigned int depth, bool digest_child)
{
	const char *d = ctx->data;
	/* header block: up to and including the first empty line */
	size_t pos = start;
	size_t hdr_end = end;
	while (pos < end) {
		size_t next = mime_next_line(d, pos, end);
		size_t n = next - pos;
		if ((n == 2 && d[pos] == '\r') || (n == 1 && d[pos] == '\n')) {
			hdr_end = next;
			break;
		}
		pos = next;
	}
	p->hdr_off = start;
	p->hdr_len = hdr_end - start;
	p->body_off = hdr_end;
	p->body_len = end - hdr_end;
	for (size_t i = p->body_off; i < end; i++) {
		if (d[i] == '\n')
			p->body_lines++;
	}
	/* a body not ending in a line end still has a last line */
	if (p->body_len > 0 && d[end - 1] != '\n')
		p->body_lines++;

	char *ct = mime_header_dup(d, p, "Content-Type");
	if (ct != NULL) {
		const char *s = ct;
		char *type = mime_token(&s);
		mime_skip_ws(&s);
		char *subtype = NULL;
		if (type != NULL && *s == '/') {
			s++;
			subtype = mime_token(&s);
		}
		if (type != NULL && subtype != NULL) {
			p->type = type;
			p->subtype = subtype;
			mime_params(s, &p->params, &p->n_params);
		} else {
			free(type);
			free(subtype);
		}
		free(ct);
	}
	if (p->type == NULL) {
		p->type = xstrdup(digest_child ? "message" : "text");
		p->subtype = xstrdup(digest_child ? "rfc822" : "plain");
		if (!digest_child) {
			p->params = xcalloc(1, sizeof(*p->params));
			p->params[0].name = xstrdup("charset");
			p->params[0].value = xstrdup("us-ascii");
			p->n_params = 1;
		}
	}
	p->id = mime_header_dup(d, p, "Content-ID");
	p->description = mime_header_dup(d, p, "Content-Description");
	p->encoding = mime_header_dup(d, p, "Content-Transfer-Encoding");
	p->md5 = mime_header_dup(d, p, "Content-MD5");
	p->language = mime_header_dup(d, p, "Content-Language");
	p->location = mime_header_dup(d, p, "Content-Location");
	char *disp = mime_header_dup(d, p, "Content-Disposition");
	if (disp != NULL) {
		const char *s = disp;
		p->disposition = mime_token(&s);
		if (p->disposition != NULL)
			mime_params(s, &p->disp_params, &p->n_disp_params);
		free(disp);
	}
	p->is_text = strcasecmp(p->type, "text") == 0;
	p->is_multipart = strcasecmp(p->type, "multipart") == 0;
	p->is_message = strcasecmp(p->type, "message") == 0 &&
		strcasecmp(p->subtype, "rfc822") == 0;
	if (depth >= MIME_MAX_DEPTH)
		return;
	if (p->is_multipart) {
		const char *boundary = mime_param_get(p, "boundary");
		if (boundary != NULL && *boundary != '\0')
			mime_parse_multipart(ctx, p, boundary, depth);
		else
			p->is_multipart = false; /* a leaf, as Dovecot does */
	} else if (p->is_message && ctx->parts < MIME_MAX_PARTS) {
		ctx->parts++;
		p->message = xcalloc(1, sizeof(*p->message));
		mime_parse_part(ctx, p->message, p->body_off, end, depth + 1,
			false);
	}
}

struct mime_part *
mime_parse(const char *data, size_t len)
{
	struct mime_ctx ctx = { data, 1 };
	struct mime_part *root = xcalloc(1, sizeof(*root));
	mime_parse_part(&ctx, root, 0, len, 0, false);
	return root;
}

static void
mime_params_free(struct mime_param *params, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		free(params[i].name);
		free(params[i].value);
	}
	free(params);
}

static void
mime_part_clear(struct mime_part *p)
{
	for (unsigned int i = 0; i < p->n_children; i++)
		mime_part_clear(&p->children[i]);
	free(p->children);
	if (p->message != NULL) {
		mime_part_clear(p->message);
		free(p->message);
	}
	free(p->type);
	free(p->subtype);
	mime_params_free(p->params, p->n_params);
	mime_params_free(p->disp_params, p->n_disp_params);
	free(p->id);
	free(p->description);
	free(p->encoding);
	free(p->md5);
	free(p->language);
	free(p->location);
	free(p->disposition);
}

void
mime_part_free(struct mime_part **pp)
{
	if (*pp == NULL)
		return;
	mime_part_clear(*pp);
	free(*pp);
	*pp = NULL;
}

const struct mime_part *
mime_part_find(const struct mime_part *root, const uint32_t *parts,
	unsigned int n_parts)
{
	const struct mime_part *p = root;
	for (unsigned int i = 0; i < n_parts; i++) {
		/* a message/rfc822 part's numbers continue in its message */
		if (p->is_message && p->message != NULL && i > 0)
			p = p->message;
		if (p->is_multipart) {
			if (parts[i] == 0 || parts[i] > p->n_children)
				return NULL;
			p = &p->children[parts[i] - 1];
		} else if (parts[i] != 1) {
			return NULL;
		}
		/* "1" of a non-multipart is the part itself */
	}
	return p;
}
