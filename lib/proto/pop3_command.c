/* pop3_command.c: POP3 command lines (grammar in pop3_command.h). */
#include "postier.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xmalloc.h"
#include "proto/pop3_command.h"

static const struct {
	const char *name;
	enum pop3_cmd cmd;
} pop3_keywords[] = {
	{ "USER", POP3_CMD_USER }, { "PASS", POP3_CMD_PASS },
	{ "APOP", POP3_CMD_APOP }, { "AUTH", POP3_CMD_AUTH },
	{ "CAPA", POP3_CMD_CAPA }, { "STLS", POP3_CMD_STLS },
	{ "QUIT", POP3_CMD_QUIT }, { "STAT", POP3_CMD_STAT },
	{ "LIST", POP3_CMD_LIST }, { "RETR", POP3_CMD_RETR },
	{ "DELE", POP3_CMD_DELE }, { "NOOP", POP3_CMD_NOOP },
	{ "RSET", POP3_CMD_RSET }, { "TOP", POP3_CMD_TOP },
	{ "UIDL", POP3_CMD_UIDL },
};

void
pop3_command_init(struct pop3_command *cmd)
{
	memset(cmd, 0, sizeof(*cmd));
	buf_init(&cmd->line);
}

void
pop3_command_clear(struct pop3_command *cmd)
{
	buf_clear(&cmd->line);
	memset(cmd, 0, sizeof(*cmd));
}

int
pop3_command_parse_line(struct pop3_command *cmd, const char *line,
	size_t len, const char **error_r)
{
	cmd->cmd = POP3_CMD_UNKNOWN;
	cmd->keyword[0] = '\0';
	cmd->n_args = 0;
	cmd->rest = "";
	buf_reset(&cmd->line);
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len == 0) {
		*error_r = "Empty command";
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c < 0x20 || c == 0x7f) {
			*error_r = "Control character in command";
			return -1;
		}
	}
	buf_append(&cmd->line, line, len);
	char *s = (char *)buf_data(&cmd->line);
	size_t klen = 0;
	while (klen < len && s[klen] != ' ')
		klen++;
	if (klen < 3 || klen > 4) {
		*error_r = "Invalid command keyword";
		return -1;
	}
	for (size_t i = 0; i < klen; i++) {
		char c = s[i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c < 'A' || c > 'Z') {
			*error_r = "Invalid command keyword";
			return -1;
		}
		cmd->keyword[i] = c;
	}
	cmd->keyword[klen] = '\0';
	for (size_t i = 0; i < N_ELEMENTS(pop3_keywords); i++) {
		if (strcmp(cmd->keyword, pop3_keywords[i].name) == 0)
			cmd->cmd = pop3_keywords[i].cmd;
	}
	if (klen == len)
		return 0;
	cmd->rest = s + klen + 1;
	if (cmd->cmd == POP3_CMD_PASS)
		return 0; /* the whole rest is the password */
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)s[i] >= 0x80) {
			*error_r = "8-bit byte in command";
			return -1;
		}
	}
	char *p = s + klen;
	while (*p == ' ') {
		*p++ = '\0';
		if (*p == '\0')
			break; /* trailing space: tolerated */
		if (*p == ' ')
			continue;
		if (cmd->n_args >= POP3_MAX_ARGS) {
			*error_r = "Too many arguments";
			return -1;
		}
		cmd->args[cmd->n_args++] = p;
		while (*p != '\0' && *p != ' ')
			p++;
	}
	cmd->rest = cmd->n_args > 0 ? cmd->args[0] : "";
	return 0;
}

int
pop3_parse_number(const char *s, uint32_t *n_r)
{
	uint64_t n = 0;
	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		n = n * 10 + (uint64_t)(*s - '0');
		if (n > UINT32_MAX)
			return -1;
	}
	*n_r = (uint32_t)n;
	return 0;
}

struct pop3_parser {
	size_t max_line_bytes;
	struct buf line;
	bool skipping;
};

struct pop3_parser *
pop3_parser_new(size_t max_line_bytes)
{
	struct pop3_parser *p = xcalloc(1, sizeof(*p));
	p->max_line_bytes = max_line_bytes;
	buf_init(&p->line);
	return p;
}

void
pop3_parser_free(struct pop3_parser **pp)
{
	if (*pp == NULL)
		return;
	buf_clear(&(*pp)->line);
	free(*pp);
	*pp = NULL;
}

int
pop3_parser_parse(struct pop3_parser *p, const void *data, size_t len,
	size_t *used_r, struct pop3_command *cmd, const char **error_r)
{
	const char *d = data;
	for (size_t i = 0; i < len; i++) {
		if (d[i] != '\n') {
			if (p->skipping)
				continue;
			if (buf_len(&p->line) + 2 > p->max_line_bytes) {
				p->skipping = true;
				buf_reset(&p->line);
				*used_r = i + 1;
				*error_r = "Line too long";
				return -1;
			}
			buf_append_char(&p->line, d[i]);
			continue;
		}
		*used_r = i + 1;
		if (p->skipping) {
			p->skipping = false;
			continue;
		}
		int ret = pop3_command_parse_line(cmd, buf_data(&p->line),
			buf_len(&p->line), error_r);
		buf_reset(&p->line);
		return ret < 0 ? -1 : 1;
	}
	*used_r = len;
	return 0;
}
