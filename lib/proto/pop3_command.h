/* pop3_command.h: POP3 client commands (a pure function over bytes).
 *
 *   RFC 1939 3: commands are a case-insensitive keyword of three or four
 *     characters, possibly followed by arguments separated by single spaces,
 *     ended by CRLF.
 *   RFC 2449 4: a command line is at most 255 octets including CRLF, each
 *     argument at most 40 octets. We allow longer lines (a caller limit) for
 *     RFC 5034 AUTH initial responses and PASS with spaces (RFC 1939 7: the
 *     password is the rest of the line, as Dovecot reads it).
 *
 * pop3_command_parse_line() reads one line (without its line end);
 * struct pop3_parser collects lines from a byte stream for fuzzing and for
 * callers without a line reader: 1 command, 0 need more, -1 malformed. */
#ifndef PROTO_POP3_COMMAND_H
#define PROTO_POP3_COMMAND_H

#include <stddef.h>
#include <stdint.h>
#include "postier.h"
#include "core/buf.h"

#define POP3_MAX_ARGS 2
#define POP3_DEFAULT_MAX_LINE_BYTES 1024

enum pop3_cmd {
	POP3_CMD_UNKNOWN,
	POP3_CMD_USER,
	POP3_CMD_PASS,
	POP3_CMD_APOP,
	POP3_CMD_AUTH,
	POP3_CMD_CAPA,
	POP3_CMD_STLS,
	POP3_CMD_QUIT,
	POP3_CMD_STAT,
	POP3_CMD_LIST,
	POP3_CMD_RETR,
	POP3_CMD_DELE,
	POP3_CMD_NOOP,
	POP3_CMD_RSET,
	POP3_CMD_TOP,
	POP3_CMD_UIDL,
};

struct pop3_command {
	enum pop3_cmd cmd;
	char keyword[5];          /* upper-cased, as sent (for logs) */
	unsigned int n_args;
	/* Pointers into the caller's line copy held in .line. */
	const char *args[POP3_MAX_ARGS];
	const char *rest;         /* PASS: everything after "PASS " ("" if none) */
	struct buf line;          /* owned copy of the line */
};

void pop3_command_init(struct pop3_command *cmd);
void pop3_command_clear(struct pop3_command *cmd);

/* Parses one command line (no CRLF). Returns 0, or -1 with *error_r
 * (static text) for an empty line, a bad keyword, 8-bit or control bytes,
 * or more than POP3_MAX_ARGS arguments. An unknown keyword parses (cmd
 * UNKNOWN): the session answers it. */
int pop3_command_parse_line(struct pop3_command *cmd, const char *line,
	size_t len, const char **error_r);

/* A message number argument (RFC 1939: decimal digits only). Returns 0, or
 * -1 for an empty string, signs, other characters or a value above
 * UINT32_MAX. 0 parses: "no such message" is the session's answer. */
int pop3_parse_number(const char *s, uint32_t *n_r);

struct pop3_parser;

struct pop3_parser *pop3_parser_new(size_t max_line_bytes);
void pop3_parser_free(struct pop3_parser **p);
/* Feeds bytes; 1 when cmd holds a command (call again for the rest), 0 when
 * all input was used, -1 when the line was malformed or too long (*error_r;
 * the rest of a too-long line is skipped). *used_r is set. */
int pop3_parser_parse(struct pop3_parser *p, const void *data, size_t len,
	size_t *used_r, struct pop3_command *cmd, const char **error_r);

#endif
