/* imap_resp.h: incremental parser of IMAP4rev1 server responses up to and
 * including the tagged completion of one command (RFC 3501 7), a pure
 * function over bytes used by the IMAP client.
 *
 *   RFC 3501 9: response = *(continue-req / response-data) response-done
 *     continue-req  = "+" SP (resp-text / base64) CRLF
 *     response-data = "*" SP (...) CRLF
 *     response-tagged = tag SP resp-cond-state CRLF
 *     resp-cond-state = ("OK" / "NO" / "BAD") SP resp-text
 *     literal = "{" number "}" CRLF *CHAR8   (RFC 7888: "{" number "+}" too)
 *
 * Untagged data is kept raw (literal bytes inline) for the caller to read;
 * every literal's bytes are also appended to reply.literals so a one-message
 * FETCH BODY[] gives the message directly. A bare LF ends a line. */
#ifndef CLIENT_IMAP_RESP_H
#define CLIENT_IMAP_RESP_H

#include <stddef.h>
#include "postier.h"
#include "core/buf.h"

#define IMAP_RESP_MAX_LINE_BYTES 65536
#define IMAP_RESP_MAX_LITERAL_BYTES (256u * 1024 * 1024)
/* All untagged data gathered for one command. */
#define IMAP_RESP_MAX_TOTAL_BYTES (512u * 1024 * 1024)
#define IMAP_TAG_MAX 32

enum imap_resp_kind {
	IMAP_RESP_KIND_TAGGED,	 /* the command's completion */
	IMAP_RESP_KIND_CONTINUE, /* "+ ..." */
	IMAP_RESP_KIND_UNTAGGED, /* only with stop_at_untagged (IDLE, greeting) */
};

enum imap_resp_status {
	IMAP_RESP_STATUS_OK,
	IMAP_RESP_STATUS_NO,
	IMAP_RESP_STATUS_BAD,
	IMAP_RESP_STATUS_PREAUTH, /* greeting only */
	IMAP_RESP_STATUS_BYE,	  /* untagged BYE */
	IMAP_RESP_STATUS_NONE,	  /* other untagged data / continuation */
};

struct imap_resp {
	enum imap_resp_kind kind;
	enum imap_resp_status status;
	/* Tagged: resp-text after the status; continuation: text after "+ ";
	 * untagged (stop mode): the line after "* ". */
	struct buf text;
	/* Untagged responses, each "* ..." line with CRLF and literals inline,
	 * in arrival order. */
	struct buf untagged;
	struct buf literals;	/* every literal's bytes, concatenated */
	unsigned int n_untagged;
	unsigned int n_literals;
};

struct imap_resp_parser {
	struct imap_resp resp;
	char tag[IMAP_TAG_MAX + 1];
	bool stop_at_untagged;
	struct buf line;	 /* current line up to a literal or CRLF */
	bool line_untagged;	 /* current response line started with "* " */
	uint64_t literal_left;	 /* bytes of a literal still to read */
	bool done;
};

void imap_resp_parser_init(struct imap_resp_parser *p);
void imap_resp_parser_clear(struct imap_resp_parser *p);
/* Prepares for the responses to the command tagged tag (NULL or "" when no
 * tagged completion is expected: the greeting, IDLE). stop_at_untagged: each
 * untagged response completes the parse (kind UNTAGGED), for the greeting and
 * IDLE. Returns -1 if the tag is longer than IMAP_TAG_MAX. */
int imap_resp_parser_expect(struct imap_resp_parser *p, const char *tag,
	bool stop_at_untagged);

/* Feeds bytes; *used_r set to bytes consumed. Returns 1 when p->resp is
 * complete (a tagged completion, a continuation, or an untagged response in
 * stop mode), 0 when more input is needed, -1 when malformed (*error_r set,
 * static string). Never blocks. */
int imap_resp_parse(struct imap_resp_parser *p, const void *data, size_t len,
	size_t *used_r, const char **error_r);

#endif
