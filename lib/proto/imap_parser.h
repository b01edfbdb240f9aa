/* imap_parser.h: incremental parser of IMAP4rev1 client commands (a pure
 * function over bytes) producing a tree of generic arguments, in the manner
 * of Dovecot's lib-imap/imap-parser.h. Command-specific grammar (sequence
 * sets, fetch attributes, search keys) is read from the arguments by
 * imap_seqset.h, imap_fetch.h and imap_search.h.
 *
 *   RFC 3501 9: command = tag SP command-name [SP args] CRLF
 *     tag     = 1*<any ASTRING-CHAR except "+">
 *     atom    = 1*ATOM-CHAR      (7-bit, no atom-specials)
 *     quoted  = DQUOTE *QUOTED-CHAR DQUOTE      ("\" escapes " and \)
 *     literal = "{" number "}" CRLF *CHAR8
 *   RFC 7888 3: literal = "{" number ["+"] "}" CRLF *CHAR8
 *     ("+" = non-synchronizing: the client does not wait for "+ ...")
 *
 * Atoms are read leniently as Dovecot does: '%', '*', '\' and ']' are atom
 * characters (LIST patterns, sequence sets, flags), and a '[' inside an atom
 * opens a section read up to its matching ']' with spaces and parentheses
 * allowed, so `BODY.PEEK[HEADER.FIELDS (FROM TO)]<0.512>` is one atom.
 * Bytes with the high bit set are refused in atoms and tags, accepted in
 * quoted strings (UTF-8 search strings) and anything goes in literals. Empty
 * lines between commands are skipped. A bare LF ends a line like CRLF.
 *
 * Contract: imap_parser_parse() returns
 *    1  a command is complete: read tag, name and args, then
 *       imap_parser_reset() before feeding more;
 *    0  stopped without a command: either all input was used, or a literal
 *       begins (imap_parser_literal_begins() says so once; the session then
 *       sends "+ OK" for a synchronizing literal and reads its bytes raw);
 *   -1  malformed: imap_parser_error() says why and whether the connection
 *       must be closed (a non-synchronizing literal over the limit: its bytes
 *       are on the way). After imap_parser_reset() the rest of the bad line is
 *       skipped (up to its LF) and parsing resumes with the next command.
 * *used_r is always set to the bytes consumed. Never blocks. */
#ifndef PROTO_IMAP_PARSER_H
#define PROTO_IMAP_PARSER_H

#include <stddef.h>
#include <stdint.h>
#include "postier.h"

enum imap_arg_type {
	IMAP_ARG_EOL,     /* ends every argument list */
	IMAP_ARG_ATOM,
	IMAP_ARG_QUOTED,
	IMAP_ARG_LITERAL,
	IMAP_ARG_LIST,
};

struct imap_arg {
	enum imap_arg_type type;
	/* ATOM, QUOTED, LITERAL: the bytes, NUL-terminated (a literal may hold
	 * NULs itself: use len). Quoted strings are unescaped. */
	const char *str;
	size_t len;
	/* LIST: list_count children followed by an EOL arg. */
	const struct imap_arg *list;
	unsigned int list_count;
};

struct imap_parser_limits {
	size_t max_line_bytes;     /* one line between literals, CRLF included */
	uint64_t max_literal_bytes;
	unsigned int max_args;     /* arguments in the command, lists included */
	unsigned int max_depth;    /* nesting of parenthesized lists */
};

#define IMAP_PARSER_DEFAULT_LIMITS { \
	.max_line_bytes = 65536, .max_literal_bytes = 64u * 1024 * 1024, \
	.max_args = 4096, .max_depth = 16 }

enum imap_parser_error {
	IMAP_PARSER_ERROR_NONE,
	IMAP_PARSER_ERROR_SYNTAX,
	IMAP_PARSER_ERROR_LINE_TOO_LONG,
	IMAP_PARSER_ERROR_LITERAL_TOO_BIG,
	IMAP_PARSER_ERROR_TOO_MANY_ARGS,
};

struct imap_parser;

struct imap_parser *imap_parser_new(const struct imap_parser_limits *limits);
void imap_parser_free(struct imap_parser **p);

/* Feeds bytes (see the contract above). */
int imap_parser_parse(struct imap_parser *p, const void *data, size_t len,
	size_t *used_r);

/* True once right after the header line of a literal was consumed; size_r
 * and sync_r describe it. The parser then takes its bytes. */
bool imap_parser_literal_begins(struct imap_parser *p, uint64_t *size_r,
	bool *sync_r);
/* Bytes of the current literal still expected (0 when not in a literal). */
uint64_t imap_parser_literal_left(const struct imap_parser *p);

/* The tag, once read (also after an error, for "tag BAD"); NULL before. */
const char *imap_parser_tag(const struct imap_parser *p);
/* The command name as sent (case kept); NULL before it was read. */
const char *imap_parser_command(const struct imap_parser *p);
/* The arguments of a complete command, ended by an EOL arg; valid until
 * imap_parser_reset(). count_r may be NULL. */
const struct imap_arg *imap_parser_args(const struct imap_parser *p,
	unsigned int *count_r);

/* After -1: the reason (static text) and its kind; fatal_r is true when the
 * connection must be closed. */
const char *imap_parser_error(const struct imap_parser *p,
	enum imap_parser_error *kind_r, bool *fatal_r);

/* Forgets the command (after 1 or -1). */
void imap_parser_reset(struct imap_parser *p);

/* Argument accessors: true when arg has the wanted type. */
bool imap_arg_get_atom(const struct imap_arg *arg, const char **str_r);
/* quoted or literal */
bool imap_arg_get_string(const struct imap_arg *arg, const char **str_r,
	size_t *len_r);
/* atom, quoted or literal */
bool imap_arg_get_astring(const struct imap_arg *arg, const char **str_r,
	size_t *len_r);
bool imap_arg_get_list(const struct imap_arg *arg,
	const struct imap_arg **list_r, unsigned int *count_r);
/* The atom NIL (any case). */
bool imap_arg_is_nil(const struct imap_arg *arg);
bool imap_arg_atom_equals(const struct imap_arg *arg, const char *word);

#endif
