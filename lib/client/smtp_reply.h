/* smtp_reply.h: incremental parser of SMTP replies (RFC 5321 4.2), a pure
 * function over bytes used by the SMTP client. It does no I/O and knows
 * nothing of commands; the caller decides what a code means.
 *
 *   RFC 5321 4.2: Reply-line = *( Reply-code "-" [ textstring ] CRLF )
 *                              Reply-code [ SP textstring ] CRLF
 *
 * A bare LF is accepted as a line end (lenient, like most clients). */
#ifndef CLIENT_SMTP_REPLY_H
#define CLIENT_SMTP_REPLY_H

#include <stddef.h>
#include "postier.h"
#include "core/buf.h"

/* RFC 5321 4.5.3.1.5: a reply line is at most 512 octets; servers exceed it
 * in EHLO texts, so allow more before calling the reply malformed. */
#define SMTP_REPLY_MAX_LINE_BYTES 4096
#define SMTP_REPLY_MAX_LINES 256

struct smtp_reply {
	int code;		/* 200..599 */
	unsigned int n_lines;
	/* The text of every line without its code and separator, lines joined
	 * by "\n" (no final newline). EHLO keywords are one per line. */
	struct buf text;
};

struct smtp_reply_parser {
	struct smtp_reply reply;
	struct buf line;	/* the current, incomplete line */
	bool done;		/* a reply is complete and not yet reset */
};

void smtp_reply_parser_init(struct smtp_reply_parser *p);
void smtp_reply_parser_clear(struct smtp_reply_parser *p);
/* Forgets the last complete reply to parse the next one. */
void smtp_reply_parser_reset(struct smtp_reply_parser *p);

/* Feeds bytes. Sets *used_r to the number of bytes consumed (bytes after a
 * complete reply are not consumed: they belong to the next reply, e.g. with
 * PIPELINING). Returns 1 when p->reply is complete (call
 * smtp_reply_parser_reset() before feeding the next one), 0 when more input
 * is needed (all bytes consumed), -1 when malformed (*error_r set to a static
 * string; the parser must be reset). Never blocks. */
int smtp_reply_parse(struct smtp_reply_parser *p, const void *data, size_t len,
	size_t *used_r, const char **error_r);

/* Returns true if the EHLO reply advertises keyword (case-insensitive), and
 * sets *param_r (may be NULL) to its parameters (borrowed from reply->text,
 * up to the end of that line, *param_len_r bytes). */
bool smtp_reply_has_keyword(const struct smtp_reply *reply, const char *keyword,
	const char **param_r, size_t *param_len_r);

#endif
