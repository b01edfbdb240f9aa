/* json_lite.c: a small validating JSON reader (RFC 8259) that returns one
 * top-level member. \uXXXX escapes outside ASCII become '?': the plugins only
 * show these strings. */
#include "postier.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/xmalloc.h"
#include "json_lite.h"

struct jreader {
	const char *s;
	size_t len, pos;
};

static void
skip_ws(struct jreader *r)
{
	while (r->pos < r->len && (r->s[r->pos] == ' ' || r->s[r->pos] == '\t' ||
	    r->s[r->pos] == '\n' || r->s[r->pos] == '\r'))
		r->pos++;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* string = quotation-mark *char quotation-mark; out may be NULL. */
static int
read_string(struct jreader *r, struct buf *out)
{
	if (r->pos >= r->len || r->s[r->pos] != '"')
		return -1;
	r->pos++;
	while (r->pos < r->len) {
		unsigned char c = (unsigned char)r->s[r->pos++];
		if (c == '"')
			return 0;
		if (c < 0x20)
			return -1;
		if (c != '\\') {
			if (out != NULL)
				buf_append_char(out, (char)c);
			continue;
		}
		if (r->pos >= r->len)
			return -1;
		c = (unsigned char)r->s[r->pos++];
		char e;
		switch (c) {
		case '"': e = '"'; break;
		case '\\': e = '\\'; break;
		case '/': e = '/'; break;
		case 'b': e = '\b'; break;
		case 'f': e = '\f'; break;
		case 'n': e = '\n'; break;
		case 'r': e = '\r'; break;
		case 't': e = '\t'; break;
		case 'u': {
			if (r->pos + 4 > r->len)
				return -1;
			int v = 0;
			for (int i = 0; i < 4; i++) {
				int h = hexval(r->s[r->pos++]);
				if (h < 0)
					return -1;
				v = v * 16 + h;
			}
			e = v < 0x80 ? (char)v : '?';
			break;
		}
		default:
			return -1;
		}
		if (out != NULL)
			buf_append_char(out, e);
	}
	return -1;
}

static int skip_value(struct jreader *r, int depth);

static int
skip_literal(struct jreader *r, const char *lit)
{
	size_t n = strlen(lit);
	if (r->len - r->pos < n || memcmp(r->s + r->pos, lit, n) != 0)
		return -1;
	r->pos += n;
	return 0;
}

static int
skip_number(struct jreader *r)
{
	size_t start = r->pos, digits = 0;
	if (r->pos < r->len && r->s[r->pos] == '-')
		r->pos++;
	while (r->pos < r->len && r->s[r->pos] >= '0' && r->s[r->pos] <= '9')
		r->pos++, digits++;
	if (digits == 0)
		return -1;
	if (r->pos < r->len && r->s[r->pos] == '.') {
		r->pos++;
		digits = 0;
		while (r->pos < r->len && r->s[r->pos] >= '0' &&
		    r->s[r->pos] <= '9')
			r->pos++, digits++;
		if (digits == 0)
			return -1;
	}
	if (r->pos < r->len && (r->s[r->pos] == 'e' || r->s[r->pos] == 'E')) {
		r->pos++;
		if (r->pos < r->len && (r->s[r->pos] == '+' || r->s[r->pos] == '-'))
			r->pos++;
		digits = 0;
		while (r->pos < r->len && r->s[r->pos] >= '0' &&
		    r->s[r->pos] <= '9')
			r->pos++, digits++;
		if (digits == 0)
			return -1;
	}
	return r->pos > start ? 0 : -1;
}

static int
skip_container(struct jreader *r, int depth, char open, char close)
{
	if (depth >= JSONL_MAX_DEPTH || r->s[r->pos] != open)
		return -1;
	r->pos++;
	skip_ws(r);
	if (r->pos < r->len && r->s[r->pos] == close) {
		r->pos++;
		return 0;
	}
	for (;;) {
		skip_ws(r);
		if (open == '{') {
			if (read_string(r, NULL) < 0)
				return -1;
			skip_ws(r);
			if (r->pos >= r->len || r->s[r->pos] != ':')
				return -1;
			r->pos++;
			skip_ws(r);
		}
		if (skip_value(r, depth + 1) < 0)
			return -1;
		skip_ws(r);
		if (r->pos >= r->len)
			return -1;
		if (r->s[r->pos] == ',') {
			r->pos++;
			continue;
		}
		if (r->s[r->pos] == close) {
			r->pos++;
			return 0;
		}
		return -1;
	}
}

static int
skip_value(struct jreader *r, int depth)
{
	if (r->pos >= r->len)
		return -1;
	switch (r->s[r->pos]) {
	case '"':
		return read_string(r, NULL);
	case '{':
		return skip_container(r, depth, '{', '}');
	case '[':
		return skip_container(r, depth, '[', ']');
	case 't':
		return skip_literal(r, "true");
	case 'f':
		return skip_literal(r, "false");
	case 'n':
		return skip_literal(r, "null");
	default:
		return skip_number(r);
	}
}

int
jsonl_get(const char *text, size_t len, const char *key, char **value_r)
{
	struct jreader r = { text, len, 0 };
	char *found = NULL;
	struct buf name;

	skip_ws(&r);
	if (r.pos >= r.len || r.s[r.pos] != '{')
		return -1;
	r.pos++;
	skip_ws(&r);
	if (r.pos < r.len && r.s[r.pos] == '}') {
		r.pos++;
		goto end;
	}
	buf_init(&name);
	for (;;) {
		skip_ws(&r);
		buf_reset(&name);
		if (read_string(&r, &name) < 0)
			goto fail;
		skip_ws(&r);
		if (r.pos >= r.len || r.s[r.pos] != ':')
			goto fail;
		r.pos++;
		skip_ws(&r);
		bool want = found == NULL && strcmp(buf_data(&name), key) == 0;
		if (want && r.pos < r.len && r.s[r.pos] == '"') {
			struct buf v;
			buf_init(&v);
			if (read_string(&r, &v) < 0) {
				buf_clear(&v);
				goto fail;
			}
			found = buf_steal(&v);
		} else {
			size_t start = r.pos;
			if (skip_value(&r, 1) < 0)
				goto fail;
			if (want) {
				char c = text[start];
				found = c == '{' ? xstrdup("{...}") :
					c == '[' ? xstrdup("[...]") :
					xstrndup(text + start, r.pos - start);
			}
		}
		skip_ws(&r);
		if (r.pos >= r.len)
			goto fail;
		if (r.s[r.pos] == ',') {
			r.pos++;
			continue;
		}
		if (r.s[r.pos] == '}') {
			r.pos++;
			break;
		}
		goto fail;
	}
	buf_clear(&name);
end:
	skip_ws(&r);
	if (r.pos != r.len) {
		free(found);
		return -1;
	}
	if (found == NULL)
		return 0;
	*value_r = found;
	return 1;
fail:
	buf_clear(&name);
	free(found);
	return -1;
}
