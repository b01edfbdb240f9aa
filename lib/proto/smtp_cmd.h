/* smtp_cmd.h: SMTP server-side command parsing (RFC 5321), pure functions
 * over bytes: a command line into verb + argument, MAIL/RCPT arguments into a
 * canonical path and ESMTP parameters. No I/O, no allocation, no policy (the
 * session decides what is allowed when). SMTPUTF8 (RFC 6531) is not
 * supported: 8-bit bytes in a path are a syntax error.
 *
 * Errors carry the reply a server should send (struct smtp_error), so the
 * session answers exactly what the parser found. */
#ifndef PROTO_SMTP_CMD_H
#define PROTO_SMTP_CMD_H

#include <stddef.h>
#include <stdint.h>
#include "postier.h"

/* RFC 5321 4.5.3.1.1 / .2 / .3: local-part 64, domain 255, path 256 octets
 * (the path limit includes the angle brackets). */
#define SMTP_LOCAL_PART_MAX_BYTES 64
#define SMTP_DOMAIN_MAX_BYTES 255
#define SMTP_PATH_MAX_BYTES 256

enum smtp_verb {
	SMTP_VERB_UNKNOWN,
	SMTP_VERB_HELO,
	SMTP_VERB_EHLO,
	SMTP_VERB_MAIL,
	SMTP_VERB_RCPT,
	SMTP_VERB_DATA,
	SMTP_VERB_BDAT,
	SMTP_VERB_RSET,
	SMTP_VERB_NOOP,
	SMTP_VERB_QUIT,
	SMTP_VERB_VRFY,
	SMTP_VERB_EXPN,
	SMTP_VERB_HELP,
	SMTP_VERB_STARTTLS,
	SMTP_VERB_AUTH,
	SMTP_VERB_COUNT
};

/* A reply for a parse failure: code, enhanced status code (RFC 3463), text.
 * All static. */
struct smtp_error {
	int code;
	const char *esc;
	const char *text;
};

/* RFC 5321 4.1.1: command = verb [ SP argument ] CRLF, verb case-insensitive. */
struct smtp_cmd {
	enum smtp_verb verb;
	const char *arg;   /* borrowed from the line; "" when none */
	size_t arg_len;
};

/* Splits a command line (without CRLF). Leading spaces are not allowed, the
 * verb ends at SP or end of line, further spaces before the argument and
 * trailing spaces are skipped (RFC 5321 4.1.1: lenient about extra space).
 * An unknown verb gives verb = SMTP_VERB_UNKNOWN and returns 0 (the caller
 * answers 500 5.5.2). Returns -1 with *error_r for a line that is not a
 * command at all (empty, NUL byte). */
int smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *cmd_r,
	const struct smtp_error **error_r);
/* "MAIL", "RCPT", ... for logs; "unknown" for SMTP_VERB_UNKNOWN. */
const char *smtp_verb_name(enum smtp_verb verb);

struct smtp_path {
	/* Canonical mailbox "local@domain": a quoted local part whose content is
	 * a valid dot-string loses its quotes, the domain is lower-cased. ""
	 * for the null reverse-path "<>"; "postmaster" for RCPT TO:<Postmaster>
	 * (RFC 5321 4.5.1). */
	char addr[SMTP_PATH_MAX_BYTES + 1];
	size_t local_len;  /* bytes of addr before '@' */
	const char *domain; /* into addr, "" for the null path and postmaster */
	bool null;          /* "<>" */
	bool postmaster;    /* bare <postmaster> (any case) */
};

/* RFC 5321 4.1.2:
 *   Path = "<" [ A-d-l ":" ] Mailbox ">"     (source route A-d-l ignored)
 *   Mailbox = Local-part "@" ( Domain / address-literal )
 *   Local-part = Dot-string / Quoted-string
 *   Quoted-string = DQUOTE *QcontentSMTP DQUOTE
 *   QcontentSMTP = qtextSMTP / quoted-pairSMTP
 *   Domain = sub-domain *("." sub-domain), sub-domain = Let-dig [Ldh-str]
 * Parses a path at the start of s; *used_r is the bytes consumed.
 * allow_null: "<>" accepted (reverse-path). Returns 0 or -1 with *error_r. */
int smtp_path_parse(const char *s, size_t len, bool allow_null,
	struct smtp_path *path_r, size_t *used_r, const struct smtp_error **error_r);

enum smtp_body {
	SMTP_BODY_NONE,     /* no BODY= parameter */
	SMTP_BODY_7BIT,
	SMTP_BODY_8BITMIME, /* RFC 6152 */
};

struct smtp_mail_args {
	struct smtp_path path;
	uint64_t size;      /* RFC 1870 SIZE=, 0 when absent */
	bool has_size;
	enum smtp_body body;
	bool has_auth;      /* RFC 4954 5 AUTH=xtext / AUTH=<>: accepted, unused */
};

/* MAIL argument: "FROM:" Reverse-path [SP Mail-parameters]
 * (RFC 5321 4.1.1.2; one space after the colon tolerated). Parameters:
 * SIZE=1*20DIGIT (RFC 1870), BODY=7BIT|8BITMIME (RFC 6152), AUTH=xtext
 * (RFC 4954 5). Unknown parameters: 555 5.5.4. Returns 0 or -1. */
int smtp_mail_parse(const char *arg, size_t len, struct smtp_mail_args *args_r,
	const struct smtp_error **error_r);

/* RCPT argument: "TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" /
 * Forward-path ) [SP Rcpt-parameters]. No parameters are supported (no DSN
 * yet): any gives 555 5.5.4. Returns 0 or -1. */
int smtp_rcpt_parse(const char *arg, size_t len, struct smtp_path *path_r,
	const struct smtp_error **error_r);

/* RFC 3030 2: bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ]
 * chunk-size = 1*DIGIT, end-marker = "LAST" (case-insensitive). At most 18
 * digits. Returns 0 or -1 (501 5.5.4). */
int smtp_bdat_parse(const char *arg, size_t len, uint64_t *size_r,
	bool *last_r, const struct smtp_error **error_r);

/* HELO/EHLO argument: a domain or address literal; accepted leniently as
 * 1*255 printable ASCII characters without spaces (clients send all sorts of
 * names; nothing here is trusted). Returns 0 or -1 (501 5.5.2). */
int smtp_helo_parse(const char *arg, size_t len,
	const struct smtp_error **error_r);

#endif
