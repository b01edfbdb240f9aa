/* json.c: recursive-descent JSON reader (see json.h). */
#include "postier.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "json.h"

struct json_parser {
	const char *s, *end, *start;
	const char *error;
};

static void
json_skip(struct json_parser *p)
{
	while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' ||
				 *p->s == '\n' || *p->s == '\r'))
		p->s++;
}

static struct json *json_value(struct json_parser *p, int depth);

static char *
json_string(struct json_parser *p)
{
	struct buf b;
	buf_init(&b);
	p->s++;	/* opening quote */
	while (p->s < p->end && *p->s != '"') {
		char c = *p->s++;
		if ((unsigned char)c < 0x20) {
			p->error = "control character in string";
			goto fail;
		}
		if (c != '\\') {
			buf_append_char(&b, c);
			continue;
		}
		if (p->s >= p->end)
			break;
		c = *p->s++;
		switch (c) {
		case '"': case '\\': case '/':
			buf_append_char(&b, c);
			break;
		case 'b': buf_append_char(&b, '\b'); break;
		case 'f': buf_append_char(&b, '\f'); break;
		case 'n': buf_append_char(&b, '\n'); break;
		case 'r': buf_append_char(&b, '\r'); break;
		case 't': buf_append_char(&b, '\t'); break;
		case 'u': {
			unsigned int v = 0;
			for (int i = 0; i < 4; i++) {
				if (p->s >= p->end || !isxdigit((unsigned char)*p->s)) {
					p->error = "bad \\u escape";
					goto fail;
				}
				char h = *p->s++;
				v = v * 16 + (unsigned int)(isdigit((unsigned char)h) ?
					h - '0' : (tolower((unsigned char)h) - 'a' + 10));
			}
			buf_append_char(&b, v < 0x80 && v > 0 ? (char)v : '?');
			break;
		}
		default:
			p->error = "bad escape";
			goto fail;
		}
	}
	if (p->s >= p->end) {
		p->error = "unterminated string";
		goto fail;
	}
	p->s++;
	return buf_steal(&b);
fail:
	buf_clear(&b);
	return NULL;
}

static struct json *
json_container(struct json_parser *p, int depth, bool object)
{
	struct json *j = xcalloc(1, sizeof(*j));
	j->type = object ? JSON_OBJECT : JSON_ARRAY;
	struct json **tail = &j->child;
	char close = object ? '}' : ']';
	p->s++;
	json_skip(p);
	if (p->s < p->end && *p->s == close) {
		p->s++;
		return j;
	}
	for (;;) {
		char *key = NULL;
		json_skip(p);
		if (object) {
			if (p->s >= p->end || *p->s != '"') {
				p->error = "expected member name";
				goto fail;
			}
			key = json_string(p);
			if (key == NULL)
				goto fail;
			json_skip(p);
			if (p->s >= p->end || *p->s != ':') {
				free(key);
				p->error = "expected ':'";
				goto fail;
			}
			p->s++;
		}
		struct json *v = json_value(p, depth + 1);
		if (v == NULL) {
			free(key);
			goto fail;
		}
		v->key = key;
		*tail = v;
		tail = &v->next;
		json_skip(p);
		if (p->s < p->end && *p->s == ',') {
			p->s++;
			continue;
		}
		if (p->s < p->end && *p->s == close) {
			p->s++;
			return j;
		}
		p->error = object ? "expected ',' or '}'" : "expected ',' or ']'";
		goto fail;
	}
fail:
	json_free(&j);
	return NULL;
}

static struct json *
json_value(struct json_parser *p, int depth)
{
	if (depth > JSON_MAX_DEPTH) {
		p->error = "nested too deep";
		return NULL;
	}
	json_skip(p);
	if (p->s >= p->end) {
		p->error = "unexpected end";
		return NULL;
	}
	char c = *p->s;
	if (c == '{' || c == '[')
		return json_container(p, depth, c == '{');
	struct json *j = xcalloc(1, sizeof(*j));
	if (c == '"') {
		j->type = JSON_STRING;
		j->string = json_string(p);
		if (j->string == NULL) {
			free(j);
			return NULL;
		}
		return j;
	}
	static const struct {
		const char *word;
		enum json_type type;
		bool value;
	} words[] = {
		{ "true", JSON_BOOL, true },
		{ "false", JSON_BOOL, false },
		{ "null", JSON_NULL, false },
	};
	for (size_t i = 0; i < N_ELEMENTS(words); i++) {
		size_t n = strlen(words[i].word);
		if ((size_t)(p->end - p->s) >= n &&
		    memcmp(p->s, words[i].word, n) == 0) {
			p->s += n;
			j->type = words[i].type;
			j->boolean = words[i].value;
			return j;
		}
	}
	if (c == '-' || isdigit((unsigned char)c)) {
		char tmp[64];
		size_t n = 0;
		while (p->s + n < p->end && n < sizeof(tmp) - 1 &&
		       strchr("+-0123456789.eE", p->s[n]) != NULL) {
			tmp[n] = p->s[n];
			n++;
		}
		tmp[n] = '\0';
		char *endp;
		j->number = strtod(tmp, &endp);
		if (endp != tmp + n || n == 0) {
			free(j);
			p->error = "bad number";
			return NULL;
		}
		p->s += n;
		j->type = JSON_NUMBER;
		return j;
	}
	free(j);
	p->error = "unexpected character";
	return NULL;
}

struct json *
json_parse(const char *text, size_t len, char **error_r)
{
	struct json_parser p = { .s = text, .end = text + len, .start = text };
	struct json *j = json_value(&p, 0);
	if (j != NULL) {
		json_skip(&p);
		if (p.s != p.end) {
			p.error = "trailing data";
			json_free(&j);
		}
	}
	if (j == NULL)
		*error_r = xasprintf("JSON offset %zu: %s",
			(size_t)(p.s - p.start), p.error != NULL ? p.error : "?");
	return j;
}

void
json_free(struct json **jp)
{
	struct json *j = *jp;
	while (j != NULL) {
		struct json *next = j->next;
		json_free(&j->child);
		free(j->string);
		free(j->key);
		free(j);
		j = next;
	}
	*jp = NULL;
}

const struct json *
json_get(const struct json *j, const char *key)
{
	if (j == NULL || j->type != JSON_OBJECT)
		return NULL;
	for (const struct json *c = j->child; c != NULL; c = c->next) {
		if (c->key != NULL && strcmp(c->key, key) == 0)
			return c;
	}
	return NULL;
}

double
json_get_number(const struct json *j, const char *key, double def)
{
	const struct json *v = json_get(j, key);
	return v != NULL && v->type == JSON_NUMBER ? v->number : def;
}

const char *
json_get_string(const struct json *j, const char *key, const char *def)
{
	const struct json *v = json_get(j, key);
	return v != NULL && v->type == JSON_STRING ? v->string : def;
}

void
json_append_string(struct buf *out, const char *s)
{
	buf_append_char(out, '"');
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			buf_append_char(out, '\\');
			buf_append_char(out, (char)c);
		} else if (c == '\n') {
			buf_append_str(out, "\\n");
		} else if (c < 0x20) {
			buf_printf(out, "\\u%04x", c);
		} else {
			buf_append_char(out, (char)c);
		}
	}
	buf_append_char(out, '"');
}
