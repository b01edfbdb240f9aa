/* pop3_reply.h: incremental parser of POP3 responses (RFC 1939 3), a pure
 * function over bytes used by the POP3 client.
 *
 *   RFC 1939 3: status = "+OK" / "-ERR" [SP text] CRLF
 *   multi-line: status line, then lines, each starting with "." byte-stuffed,
 *   ended by "." CRLF.
 *   RFC 5034 4: a SASL continuation is "+" SP base64 CRLF.
 *
 * Whether a response is multi-line depends on the command, so the caller
 * says so (pop3_reply_parser_expect()). A multi-line body follows only a
 * +OK status. A bare LF is accepted as a line end. */
#ifndef CLIENT_POP3_REPLY_H
#define CLIENT_POP3_REPLY_H

#include <stddef.h>
#include "postier.h"
#include "core/buf.h"

#define POP3_REPLY_MAX_LINE_BYTES 8192
/* Upper bound of a multi-line body (a RETR of a large message). */
#define POP3_REPLY_MAX_BODY_BYTES (256u * 1024 * 1024)

enum pop3_status {
	POP3_STATUS_OK,		/* +OK */
	POP3_STATUS_ERR,	/* -ERR */
	POP3_STATUS_CONT,	/* "+ " SASL continuation */
};

struct pop3_reply {
	enum pop3_status status;
	struct buf text;	/* status line text after "+OK " / "-ERR " / "+ " */
	/* Multi-line body with the dot-stuffing removed and CRLF line ends
	 * kept, without the terminating ".". Empty for single-line replies. */
	struct buf body;
	bool multiline;
};

struct pop3_reply_parser {
	struct pop3_reply reply;
	struct buf line;
	bool expect_multiline;
	bool in_body;
	bool done;
};

void pop3_reply_parser_init(struct pop3_reply_parser *p);
void pop3_reply_parser_clear(struct pop3_reply_parser *p);
/* Prepares for the next response; multiline: the command's +OK response
 * carries a dot-terminated body (CAPA, UIDL/LIST without argument, RETR,
 * TOP). */
void pop3_reply_parser_expect(struct pop3_reply_parser *p, bool multiline);

/* Feeds bytes; *used_r set to the bytes consumed. Returns 1 when p->reply is
 * complete, 0 when more input is needed, -1 when malformed (*error_r set,
 * static string). Never blocks. */
int pop3_reply_parse(struct pop3_reply_parser *p, const void *data,
	size_t len, size_t *used_r, const char **error_r);

#endif
