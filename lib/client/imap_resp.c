/* imap_resp.c: incremental IMAP response parser (see imap_resp.h). A line is
 * gathered until CRLF; a line ending in a literal announcement switches to
 * counting literal bytes, then the same response line continues. */
#include "postier.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "client/imap_resp.h"

void
imap_resp_parser_init(struct imap_resp_parser *p)
{
	memset(p, 0, sizeof(*p));
	buf_init(&p->resp.text);
	buf_init(&p->resp.untagged);
	buf_init(&p->resp.literals);
	buf_init(&p->line);
}

void
imap_resp_parser_clear(struct imap_resp_parser *p)
{
	buf_clear(&p->resp.text);
	buf_clear(&p->resp.untagged);
	buf_clear(&p->resp.literals);
	buf_clear(&p->line);
}

int
imap_resp_parser_expect(struct imap_resp_parser *p, const char *tag,
	bool stop_at_untagged)
{
	if (tag == NULL)
		tag = "";
	if (strlen(tag) > IMAP_TAG_MAX)
		return -1;
	strcpy(p->tag, tag);
	buf_reset(&p->resp.text);
	buf_reset(&p->resp.untagged);
	buf_reset(&p->resp.literals);
	buf_reset(&p->line);
	p->resp.kind = IMAP_RESP_KIND_TAGGED;
	p->resp.status = IMAP_RESP_STATUS_NONE;
	p->resp.n_untagged = 0;
	p->resp.n_literals = 0;
	p->stop_at_untagged = stop_at_untagged;
	p->line_untagged = false;
	p->literal_left = 0;
	p->done = false;
	return 0;
}

/* If the line (without CRLF) ends with "{n}" or "{n+}", returns true and
 * sets *n_r. */
static bool
imap_literal_announced(const char *s, size_t len, uint64_t *n_r)
{
	if (len < 3 || s[len - 1] != '}')
		return false;
	size_t end = len - 1;
	if (end > 0 && s[end - 1] == '+')
		end--;
	size_t start = end;
	while (start > 0 && isdigit((unsigned char)s[start - 1]))
		start--;
	if (start == end || start == 0 || s[start - 1] != '{')
		return false;
	if (end - start > 12) {
		*n_r = UINT64_MAX;	/* refused as too large */
		return true;
	}
	uint64_t n = 0;
	for (size_t i = start; i < end; i++)
		n = n * 10 + (uint64_t)(s[i] - '0');
	*n_r = n;
	return true;
}

static enum imap_resp_status
imap_status_word(const char *s, size_t len, size_t *word_len_r)
{
	static const struct {
		const char *word;
		enum imap_resp_status status;
	} words[] = {
		{ "OK", IMAP_RESP_STATUS_OK },
		{ "NO", IMAP_RESP_STATUS_NO },
		{ "BAD", IMAP_RESP_STATUS_BAD },
		{ "PREAUTH", IMAP_RESP_STATUS_PREAUTH },
		{ "BYE", IMAP_RESP_STATUS_BYE },
	};
	for (size_t i = 0; i < N_ELEMENTS(words); i++) {
		size_t wl = strlen(words[i].word);
		if (len >= wl && strncasecmp(s, words[i].word, wl) == 0 &&
		    (len == wl || s[wl] == ' ')) {
			*word_len_r = wl;
			return words[i].status;
		}
	}
	*word_len_r = 0;
	return IMAP_RESP_STATUS_NONE;
}

static void
imap_set_text(struct imap_resp_parser *p, const char *s, size_t len)
{
	if (len > 0 && s[0] == ' ') {
		s++;
		len--;
	}
	buf_reset(&p->resp.text);
	buf_append(&p->resp.text, s, len);
}

/* The first piece of a response line (before any literal) decides its
 * kind. Returns 1 complete, 0 continue, -1 malformed. Called for the whole
 * line when it has no literal; s excludes CRLF. */
static int
imap_line_complete(struct imap_resp_parser *p, const char *s, size_t len,
	const char **error_r)
{
	size_t wl;

	if (p->line_untagged) {
		/* The line (with its literals) is already in resp.untagged. */
		buf_append(&p->resp.untagged, "\r\n", 2);
		p->resp.n_untagged++;
		p->line_untagged = false;
		if (p->stop_at_untagged) {
			const char *u = buf_data(&p->resp.untagged);
			size_t ul = buf_len(&p->resp.untagged) - 2;
			p->resp.kind = IMAP_RESP_KIND_UNTAGGED;
			p->resp.status = imap_status_word(u + 2, ul - 2, &wl);
			imap_set_text(p, u + 2 + wl, ul - 2 - wl);
			return 1;
		}
		return 0;
	}
	if (len >= 1 && s[0] == '+') {
		p->resp.kind = IMAP_RESP_KIND_CONTINUE;
		p->resp.status = IMAP_RESP_STATUS_NONE;
		imap_set_text(p, s + 1, len - 1);
		return 1;
	}
	size_t tl = strlen(p->tag);
	if (tl > 0 && len > tl && memcmp(s, p->tag, tl) == 0 && s[tl] == ' ') {
		enum imap_resp_status st =
			imap_status_word(s + tl + 1, len - tl - 1, &wl);
		if (st != IMAP_RESP_STATUS_OK && st != IMAP_RESP_STATUS_NO &&
		    st != IMAP_RESP_STATUS_BAD) {
			*error_r = "tagged response without OK, NO or BAD";
			return -1;
		}
		p->resp.kind = IMAP_RESP_KIND_TAGGED;
		p->resp.status = st;
		imap_set_text(p, s + tl + 1 + wl, len - tl - 1 - wl);
		return 1;
	}
	*error_r = "response is neither untagged, continuation nor our tag";
	return -1;
}

/* Handles the end of a line piece (data up to LF, without it). */
static int
imap_piece(struct imap_resp_parser *p, const char *s, size_t len,
	const char **error_r)
{
	if (len > 0 && s[len - 1] == '\r')
		len--;
	bool starts_line = !p->line_untagged;
	if (starts_line && len >= 2 && s[0] == '*' && s[1] == ' ')
		p->line_untagged = true;
	if (p->line_untagged) {
		if (buf_len(&p->resp.untagged) + len + 2 >
		    IMAP_RESP_MAX_TOTAL_BYTES) {
			*error_r = "untagged responses too large";
			return -1;
		}
		buf_append(&p->resp.untagged, s, len);
	}
	uint64_t n;
	if (imap_literal_announced(s, len, &n)) {
		if (!p->line_untagged) {
			*error_r = "literal outside an untagged response";
			return -1;
		}
		if (n > IMAP_RESP_MAX_LITERAL_BYTES) {
			*error_r = "literal too large";
			return -1;
		}
		buf_append(&p->resp.untagged, "\r\n", 2);
		p->literal_left = n;
		p->resp.n_literals++;
		return 0;
	}
	return imap_line_complete(p, s, len, error_r);
}

int
imap_resp_parse(struct imap_resp_parser *p, const void *data, size_t len,
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
		if (p->literal_left > 0) {
			size_t take = len - pos;
			if (take > p->literal_left)
				take = (size_t)p->literal_left;
			if (buf_len(&p->resp.untagged) + take >
			    IMAP_RESP_MAX_TOTAL_BYTES) {
				*used_r = pos;
				*error_r = "untagged responses too large";
				return -1;
			}
			buf_append(&p->resp.untagged, in + pos, take);
			buf_append(&p->resp.literals, in + pos, take);
			p->literal_left -= take;
			pos += take;
			continue;
		}
		const char *nl = memchr(in + pos, '\n', len - pos);
		size_t take = nl != NULL ? (size_t)(nl - (in + pos)) + 1 : len - pos;
		if (buf_len(&p->line) + take > IMAP_RESP_MAX_LINE_BYTES) {
			*used_r = pos;
			*error_r = "response line too long";
			return -1;
		}
		buf_append(&p->line, in + pos, take);
		pos += take;
		if (nl == NULL)
			break;
		int ret = imap_piece(p, buf_data(&p->line),
			buf_len(&p->line) - 1, error_r);
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
