/* pop3_reply.c: incremental POP3 response parser (see pop3_reply.h). */
#include "postier.h"

#include <string.h>

#include "client/pop3_reply.h"

void
pop3_reply_parser_init(struct pop3_reply_parser *p)
{
	memset(p, 0, sizeof(*p));
	buf_init(&p->reply.text);
	buf_init(&p->reply.body);
	buf_init(&p->line);
}

void
pop3_reply_parser_clear(struct pop3_reply_parser *p)
{
	buf_clear(&p->reply.text);
	buf_clear(&p->reply.body);
	buf_clear(&p->line);
}

void
pop3_reply_parser_expect(struct pop3_reply_parser *p, bool multiline)
{
	buf_reset(&p->reply.text);
	buf_reset(&p->reply.body);
	buf_reset(&p->line);
	p->reply.status = POP3_STATUS_ERR;
	p->reply.multiline = false;
	p->expect_multiline = multiline;
	p->in_body = false;
	p->done = false;
}

/* Returns 1 when the response is complete, 0 for more, -1 malformed. */
static int
pop3_status_line(struct pop3_reply_parser *p, const char *s, size_t len,
	const char **error_r)
{
	size_t skip;

	if (len >= 3 && memcmp(s, "+OK", 3) == 0 && (len == 3 || s[3] == ' ')) {
		p->reply.status = POP3_STATUS_OK;
		skip = 3;
	} else if (len >= 4 && memcmp(s, "-ERR", 4) == 0 &&
		   (len == 4 || s[4] == ' ')) {
		p->reply.status = POP3_STATUS_ERR;
		skip = 4;
	} else if (len >= 1 && s[0] == '+' && (len == 1 || s[1] == ' ')) {
		p->reply.status = POP3_STATUS_CONT;
		skip = 1;
	} else {
		*error_r = "response is neither +OK nor -ERR";
		return -1;
	}
	if (len > skip)
		skip++;
	buf_append(&p->reply.text, s + skip, len - skip);
	if (p->reply.status == POP3_STATUS_OK && p->expect_multiline) {
		p->in_body = true;
		p->reply.multiline = true;
		return 0;
	}
	return 1;
}

/* RFC 1939 3: a line of a multi-line body starting with "." has it doubled;
 * "." alone ends the body. */
static int
pop3_body_line(struct pop3_reply_parser *p, const char *s, size_t len,
	const char **error_r)
{
	size_t content = len;
	if (content > 0 && s[content - 1] == '\n')
		content--;
	if (content > 0 && s[content - 1] == '\r')
		content--;
	if (content == 1 && s[0] == '.')
		return 1;
	if (s[0] == '.') {
		s++;
		content--;
	}
	if (buf_len(&p->reply.body) + content + 2 > POP3_REPLY_MAX_BODY_BYTES) {
		*error_r = "multi-line response too large";
		return -1;
	}
	buf_append(&p->reply.body, s, content);
	buf_append(&p->reply.body, "\r\n", 2);
	return 0;
}

int
pop3_reply_parse(struct pop3_reply_parser *p, const void *data, size_t len,
	size_t *used_r, const char **error_r)
{
	const char *in = data;
	size_t pos = 0;

	*used_r = 0;
	if (p->done) {
		*error_r = "parser not reset after a complete response";
		return -1;
	}
	while (pos < len) {
		const char *nl = memchr(in + pos, '\n', len - pos);
		size_t take = nl != NULL ? (size_t)(nl - (in + pos)) + 1 : len - pos;
		if (buf_len(&p->line) + take > POP3_REPLY_MAX_LINE_BYTES) {
			*used_r = pos;
			*error_r = "response line too long";
			return -1;
		}
		/* Fast path for body lines that arrive whole. */
		const char *line = in + pos;
		size_t ll = take;
		if (nl == NULL || buf_len(&p->line) > 0) {
			buf_append(&p->line, in + pos, take);
			line = buf_data(&p->line);
			ll = buf_len(&p->line);
		}
		pos += take;
		if (nl == NULL)
			break;
		int ret;
		if (p->in_body) {
			ret = pop3_body_line(p, line, ll, error_r);
		} else {
			size_t sl = ll - 1;
			if (sl > 0 && line[sl - 1] == '\r')
				sl--;
			ret = pop3_status_line(p, line, sl, error_r);
		}
		buf_reset(&p->line);
		if (ret != 0) {
			*used_r = pos;
			if (ret > 0)
				p->done = true;
			return ret;
		}
	}
	*used_r = pos;
	return 0;
}
