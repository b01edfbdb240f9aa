/* smtp_reply.c: incremental SMTP reply parser (see smtp_reply.h). Lines are
 * gathered in p->line until LF, then checked as a whole. */
#include "postier.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "client/smtp_reply.h"

void
smtp_reply_parser_init(struct smtp_reply_parser *p)
{
	memset(p, 0, sizeof(*p));
	buf_init(&p->reply.text);
	buf_init(&p->line);
}

void
smtp_reply_parser_clear(struct smtp_reply_parser *p)
{
	buf_clear(&p->reply.text);
	buf_clear(&p->line);
}

void
smtp_reply_parser_reset(struct smtp_reply_parser *p)
{
	buf_reset(&p->reply.text);
	buf_reset(&p->line);
	p->reply.code = 0;
	p->reply.n_lines = 0;
	p->done = false;
}

/* One complete line without CRLF. Returns 1 if it was the last line of the
 * reply, 0 if more lines follow, -1 if malformed. */
static int
smtp_reply_line(struct smtp_reply_parser *p, const char *s, size_t len,
	const char **error_r)
{
	if (len < 3 || !isdigit((unsigned char)s[0]) || s[0] < '2' ||
	    s[0] > '5' || !isdigit((unsigned char)s[1]) ||
	    !isdigit((unsigned char)s[2])) {
		*error_r = "reply line does not start with a 3-digit code";
		return -1;
	}
	int code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
	if (len > 3 && s[3] != ' ' && s[3] != '-') {
		*error_r = "reply code not followed by space or hyphen";
		return -1;
	}
	if (p->reply.n_lines > 0 && code != p->reply.code) {
		*error_r = "reply code changes inside a multiline reply";
		return -1;
	}
	if (p->reply.n_lines >= SMTP_REPLY_MAX_LINES) {
		*error_r = "too many lines in reply";
		return -1;
	}
	p->reply.code = code;
	if (p->reply.n_lines > 0)
		buf_append_char(&p->reply.text, '\n');
	if (len > 4)
		buf_append(&p->reply.text, s + 4, len - 4);
	p->reply.n_lines++;
	return len > 3 && s[3] == '-' ? 0 : 1;
}

int
smtp_reply_parse(struct smtp_reply_parser *p, const void *data, size_t len,
	size_t *used_r, const char **error_r)
{
	const char *in = data;
	size_t pos = 0;

	*used_r = 0;
	if (p->done) {
		*error_r = "parser not reset after a complete reply";
		return -1;
	}
	while (pos < len) {
		const char *nl = memchr(in + pos, '\n', len - pos);
		size_t take = nl != NULL ? (size_t)(nl - (in + pos)) + 1 : len - pos;
		if (buf_len(&p->line) + take > SMTP_REPLY_MAX_LINE_BYTES) {
			*used_r = pos;
			*error_r = "reply line too long";
			return -1;
		}
		buf_append(&p->line, in + pos, take);
		pos += take;
		if (nl == NULL)
			break;
		size_t ll = buf_len(&p->line) - 1;
		if (ll > 0 && buf_data(&p->line)[ll - 1] == '\r')
			ll--;
		int ret = smtp_reply_line(p, buf_data(&p->line), ll, error_r);
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

bool
smtp_reply_has_keyword(const struct smtp_reply *reply, const char *keyword,
	const char **param_r, size_t *param_len_r)
{
	const char *s = buf_data(&reply->text);
	size_t klen = strlen(keyword);

	/* The first line is the greeting text of EHLO, not a keyword. */
	const char *line = strchr(s, '\n');
	while (line != NULL) {
		line++;
		const char *end = strchr(line, '\n');
		size_t ll = end != NULL ? (size_t)(end - line) : strlen(line);
		if (ll >= klen && strncasecmp(line, keyword, klen) == 0 &&
		    (ll == klen || line[klen] == ' ' || line[klen] == '=')) {
			if (param_r != NULL) {
				size_t off = ll > klen ? klen + 1 : klen;
				*param_r = line + off;
				*param_len_r = ll - off;
			}
			return true;
		}
		line = end;
	}
	return false;
}
