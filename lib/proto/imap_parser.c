/* imap_parser.c: byte-at-a-time state machine for IMAP commands (see
 * imap_parser.h for the grammar and the contract). Arguments are collected as
 * a flat token list with offsets into one buffer and turned into a tree of
 * struct imap_arg when the command completes, so the buffer may move while
 * parsing. Deliberately left out: literal8 (RFC 3516 BINARY). */
#include "postier.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/xmalloc.h"
#include "proto/imap_parser.h"

enum imap_state {
	IMAP_STATE_TAG,
	IMAP_STATE_COMMAND,
	IMAP_STATE_ARG_START,   /* before an argument, ")" or the line end */
	IMAP_STATE_AFTER_ARG,   /* after an argument: SP, ")" or line end */
	IMAP_STATE_ATOM,
	IMAP_STATE_ATOM_BRACKET,
	IMAP_STATE_QUOTED,
	IMAP_STATE_QUOTED_ESC,
	IMAP_STATE_LITERAL_SIZE,
	IMAP_STATE_LITERAL_CLOSE, /* after "+": wants "}" */
	IMAP_STATE_LITERAL_CR,    /* after "}": wants CRLF or LF */
	IMAP_STATE_LITERAL_LF,
	IMAP_STATE_LITERAL_DATA,
	IMAP_STATE_CR,            /* CR seen at the end of the command */
	IMAP_STATE_DONE,
	IMAP_STATE_ERROR,
	IMAP_STATE_SKIP,          /* skipping the rest of a bad line */
};

enum imap_tok_type {
	IMAP_TOK_ATOM = IMAP_ARG_ATOM,
	IMAP_TOK_QUOTED = IMAP_ARG_QUOTED,
	IMAP_TOK_LITERAL = IMAP_ARG_LITERAL,
	IMAP_TOK_LIST_START = 100,
	IMAP_TOK_LIST_END,
};

struct imap_tok {
	int type;
	size_t off, len;
};

struct imap_parser {
	struct imap_parser_limits limits;
	enum imap_state state;
	struct buf data;        /* token bytes, each followed by a NUL */
	struct buf tag, cmd;
	bool have_tag, have_cmd;
	struct imap_tok *toks;
	unsigned int n_toks, cap_toks;
	unsigned int depth;
	size_t line_bytes;      /* bytes of the current line (not literals) */
	size_t cur_off;         /* start of the token being read in data */
	uint64_t literal_size, literal_left;
	bool literal_sync, literal_announce;
	bool line_seen_eol;     /* the error's line already ended */
	struct imap_arg *args;  /* built on completion */
	unsigned int n_top;
	const char *error;
	enum imap_parser_error error_kind;
	bool error_fatal;
};

struct imap_parser *
imap_parser_new(const struct imap_parser_limits *limits)
{
	struct imap_parser *p = xcalloc(1, sizeof(*p));
	p->limits = *limits;
	buf_init(&p->data);
	buf_init(&p->tag);
	buf_init(&p->cmd);
	p->state = IMAP_STATE_TAG;
	return p;
}

void
imap_parser_free(struct imap_parser **pp)
{
	struct imap_parser *p = *pp;
	if (p == NULL)
		return;
	buf_clear(&p->data);
	buf_clear(&p->tag);
	buf_clear(&p->cmd);
	free(p->toks);
	free(p->args);
	free(p);
	*pp = NULL;
}

void
imap_parser_reset(struct imap_parser *p)
{
	bool skip = p->state == IMAP_STATE_ERROR && !p->line_seen_eol;
	buf_reset(&p->data);
	buf_reset(&p->tag);
	buf_reset(&p->cmd);
	p->have_tag = p->have_cmd = false;
	p->n_toks = 0;
	p->depth = 0;
	p->line_bytes = 0;
	p->literal_size = p->literal_left = 0;
	p->literal_sync = p->literal_announce = false;
	p->line_seen_eol = false;
	free(p->args);
	p->args = NULL;
	p->n_top = 0;
	p->error = NULL;
	p->error_kind = IMAP_PARSER_ERROR_NONE;
	p->error_fatal = false;
	p->state = skip ? IMAP_STATE_SKIP : IMAP_STATE_TAG;
}

static int
imap_fail(struct imap_parser *p, enum imap_parser_error kind, const char *msg,
	bool eol_seen)
{
	p->state = IMAP_STATE_ERROR;
	p->error = msg;
	p->error_kind = kind;
	p->line_seen_eol = eol_seen;
	return -1;
}

/* RFC 3501 9: atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards /
 * quoted-specials / resp-specials; we accept % * \ ] in atoms (see header). */
static bool
imap_is_atom_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return false;
	return c != '(' && c != ')' && c != '{' && c != '"';
}

static bool
imap_is_tag_char(unsigned char c)
{
	return imap_is_atom_char(c) && c != '+' && c != '%' && c != '*';
}

static int
imap_tok_add(struct imap_parser *p, int type, size_t off, size_t len)
{
	if (p->n_toks >= p->limits.max_args)
		return -1;
	if (p->n_toks == p->cap_toks) {
		p->cap_toks = p->cap_toks == 0 ? 16 : p->cap_toks * 2;
		p->toks = xrealloc(p->toks, p->cap_toks * sizeof(*p->toks));
	}
	p->toks[p->n_toks].type = type;
	p->toks[p->n_toks].off = off;
	p->toks[p->n_toks].len = len;
	p->n_toks++;
	return 0;
}

/* Ends the token started at cur_off (its bytes are in data). */
static int
imap_tok_finish(struct imap_parser *p, int type)
{
	size_t len = buf_len(&p->data) - p->cur_off;
	buf_append_char(&p->data, '\0');
	if (imap_tok_add(p, type, p->cur_off, len) < 0) {
		return imap_fail(p, IMAP_PARSER_ERROR_TOO_MANY_ARGS,
			"Too many arguments", false);
	}
	return 0;
}

/* Builds the children of the list starting at token *i (just after its
 * LIST_START, or 0 for the top level) into out[]; *pool is the next free
 * slot of the arena. */
static unsigned int
imap_build(struct imap_parser *p, unsigned int *i, struct imap_arg **pool)
{
	/* count the children first so they are contiguous */
	unsigned int count = 0, depth = 0;
	for (unsigned int j = *i; j < p->n_toks; j++) {
		int t = p->toks[j].type;
		if (t == IMAP_TOK_LIST_END) {
			if (depth == 0)
				break;
			depth--;
			continue;
		}
		if (depth == 0)
			count++;
		if (t == IMAP_TOK_LIST_START)
			depth++;
	}
	struct imap_arg *slots = *pool;
	*pool += count + 1;
	unsigned int n = 0;
	while (*i < p->n_toks) {
		const struct imap_tok *t = &p->toks[*i];
		(*i)++;
		if (t->type == IMAP_TOK_LIST_END)
			break;
		struct imap_arg *a = &slots[n++];
		if (t->type == IMAP_TOK_LIST_START) {
			a->type = IMAP_ARG_LIST;
			struct imap_arg *child = *pool;
			a->list_count = imap_build(p, i, pool);
			a->list = child;
		} else {
			a->type = (enum imap_arg_type)t->type;
			a->str = buf_data(&p->data) + t->off;
			a->len = t->len;
		}
	}
	slots[n].type = IMAP_ARG_EOL;
	return n;
}

static int
imap_complete(struct imap_parser *p)
{
	if (!p->have_cmd) {
		return imap_fail(p, IMAP_PARSER_ERROR_SYNTAX,
			"Missing command name", true);
	}
	if (p->depth > 0) {
		return imap_fail(p, IMAP_PARSER_ERROR_SYNTAX,
			"Unterminated list", true);
	}
	p->args = xcalloc(p->n_toks + 1, sizeof(*p->args));
	struct imap_arg *pool = p->args;
	unsigned int i = 0;
	p->n_top = imap_build(p, &i, &pool);
	p->state = IMAP_STATE_DONE;
	return 1;
}

/* A byte outside literals: counts against the line limit. */
static int
imap_line_byte(struct imap_parser *p)
{
	if (++p->line_bytes > p->limits.max_line_bytes) {
		p->error_fatal = true;
		return imap_fail(p, IMAP_PARSER_ERROR_LINE_TOO_LONG,
			"Line too long", false);
	}
	return 0;
}

/* Handles the start of an argument at byte c (state ARG_START). */
static int
imap_arg_start(struct imap_parser *p, unsigned char c)
{
	switch (c) {
	case ' ':
		return 0;
	case '(':
		if (p->depth >= p->limits.max_depth) {
			return imap_fail(p, IMAP_PARSER_ERROR_SYNTAX,
				"Lists nested too deep", false);
		}
		if (imap_tok_add(p, IMAP_TOK_LIST_START, 0, 0) < 0) {
			return imap_fail(p, IMAP_PARSER_ERROR_TOO_MANY_ARGS,
				"Too many arguments", false);
		}
		p->depth++;
		return 0;
	case ')':
		if (p->depth == 0) {
			return imap_fail(p, IMAP_PARSER_ERROR_SYNTAX,
				"Unexpected ')'", false);
		}
		if (imap_tok_add(p, IMAP_TOK_LIST_END, 0, 0) < 0) {
			return imap_fail(p, IMAP_PARSER_ERROR_TOO_MANY_ARGS,
				"Too many arguments", false);
		}
		p->depth--;
		p->state = IMAP_STATE_AFTER_ARG;
		return 0;
	case '"':
		p->cur_off = buf_len(&p->data);
		p->state = IMAP_STATE_QUOTED;
		return 0;
	case '{':
		p->literal_size = 0;
		p->literal_sync = true;
		p->state = IMAP_STATE_LITERAL_SIZE;
		p->cur_off = 0; /* digits seen */
		return 0;
	default:
		if (!imap_is_atom_char(c)) {
			return imap_fail(p, IMAP_PARSER_ERROR_SYNTAX,
				c >= 0x80 ? "8-bit byte in atom" :
				"Invalid character", false);
		}
		p->cur_off = buf_len(&p->data);
		buf_append_char(&p->data, (char)c);
		p->state = c == '[' ? IMAP_STATE_ATOM_BRACKET : IMAP_STATE_ATOM;
		return 0;
	}
}

static int imap_parse_byte_again(struct imap_parser *p, unsigned char c);

static int
imap_parse_byte(struct imap_parser *p, unsigned char c)
{
	bool eol = c == '\n' || c == '\r';
	switch (p->state) {
	case IMAP_STATE_SKIP:
		if (c == '\n')
			p->state = IMAP_STATE_TAG;
		return 0;
	case IMAP_STATE_TAG:
		if (eol && !p->have_tag && buf_len(&p->tag) == 0) {
			p->line_bytes = 0;
			return 0; /* empty line between commands */
		}
		if (imap_line_byte(p) < 0)
			return -1;
		if (c == ' ') {
			if (buf_len(&p->tag) == 0) {
				return imap_fail(p, IMAP_PARSER_ERROR_SYNTAX,
					"Missing tag", false);
			}
			p->have_tag = true;
			p->state = IMAP_STATE_COMMAND;
			return 0;
		}
		if (eol) {
			p->have_tag = true;
			return imap_fail(p, IMAP_PARSER_ERROR_SYNTAX,
				"Missing command name", c == '\n');
		}
		if (!imap_is_tag_char(c)) {
			return imap_fail(p, IMAP_PARSER_ERROR_SYNTAX,
				"Invalid character in tag", false);
		}
		buf_append_char(&p->tag, (char)c);
		return 0;
	case IMAP_STATE_COMMAND:
		if (imap_line_byte(p) < 0)
			return -1;
		if (c == ' ' || eol) {
			if (buf_len(&p->cmd) == 0) {
				return imap_fail(p, IMAP_PARSER_ERROR_SYNTAX,
					"Missing command name", c == '\n');
			}
			p->have_cmd = true;
			if (c == ' ') {
				p->state = IMAP_STATE_ARG_START;
				return 0;
			}
			if (c == '\r') {
				p->state = IMAP_STATE_CR;
				return 0;
			}
			return imap_complete(p);
		}
		if (!imap_is_atom_char(c) || c == '[' || c == ']' ||
		    c == '%' || c == '*') {
			return imap_fail(p, IMAP_PARSER_ERROR_SYNTAX,
				"Invalid character in command name", false);
		}
		buf_append_char(&p->cmd, (char)c);
		return 0;
	case IMAP_STATE_ARG_START:
	case IMAP_STATE_AFTER_ARG:
		if (imap_line_byte(p) < 0)
			return -1;
		if (c == '\r') {
			p->state = IMAP_STATE_CR;
			return 0;
		}
		if (c == '\n')
			return imap_complete(p);
		if (p->state == IMAP_STATE_AFTER_ARG && c != ' ' && c != ')') {
			return imap_fail(p, IMAP_PARSER_ERROR_SYNTAX,
				"Missing space between arguments", false);
		}
		p->state = IMAP_STATE_ARG_START;
		return imap_arg_start(p, c);
	case IMAP_STATE_ATOM:
		if (imap_line_byte(p) < 0)
			return -1;
		if (c == ' ' || c == ')' || eol) {
			if (imap_tok_finish(p, IMAP_TOK_ATOM) < 0)
				return -1;
			p->state = IMAP_STATE_AFTER_ARG;
			return imap_parse_byte_again(p, c);
		}
		if (!imap_is_atom_char(c)) {
			return imap_fail(p, IMAP_PARSER_ERROR_SYNTAX,
				c >= 0x80 ? "8-bit byte in atom" :
				"Invalid character in atom", false);
		}
		buf_append_char(&p->data, (char)c);
		if (c == '[')
			p->state = IMAP_STATE_ATOM_BRACKET;
		return 0;
	case IMAP_STATE_ATOM_BRACKET:
		if (imap_line_byte(p) < 0)
			return -1;
		if (eol || c >= 0x80 || c == 0) {
			return imap_fail(p, IMAP_PARSER_ERROR_SYNTAX,
				"Missing ']'", c == '\n');
		}
		buf_append_char(&p->data, (char)c);
		if (c == ']')
			p->state = IMAP_STATE_ATOM;
		return 0;
	case IMAP_STATE_QUOTED:
		if (imap_line_byte(p) < 0)
			return -1;
		if (eol || c == 0) {
			return imap_fail(p, IMAP_PARSER_ERROR_SYNTAX,
				"Unterminated quoted string", c == '\n');
		}
		if (c == '\\') {
			p->state = IMAP_STATE_QUOTED_ESC;
			return 0;
		}
		if (c == '"') {
			if (imap_tok_finish(p, IMAP_TOK_QUOTED) < 0)
				return -1;
			p->state = IMAP_STATE_AFTER_ARG;
			return 0;
		}
		buf_append_char(&p->data, (char)c);
		return 0;
	case IMAP_STATE_QUOTED_ESC:
		if (imap_line_byte(p) < 0)
			return -1;
		/* RFC 3501 9: "\" quoted-specials only */
		if (c != '"' && c != '\\') {
			return imap_fail(p, IMAP_PARSER_ERROR_SYNTAX,
				"Invalid escape in quoted string", c == '\n');
		}
		buf_append_char(&p->data, (char)c);
		p->state = IMAP_STATE_QUOTED;
		return 0;
	case IMAP_STATE_LITERAL_SIZE:
		if (imap_line_byte(p) < 0)
			return -1;
		if (c >= '0' && c <= '9') {
			/* RFC 3501 9: number is an unsigned 32-bit integer;
			 * a larger one saturates and is refused at "}" (only
			 * then is it known whether its bytes follow) */
			if (p->literal_size <= UINT32_MAX)
				p->literal_size = p->literal_size * 10 +
					(uint64_t)(c - '0');
			p->cur_off++;
			return 0;
		}
		if (p->cur_off == 0) {
			return imap_fail(p, IMAP_PARSER_ERROR_SYNTAX,
				"Invalid literal size", c == '\n');
		}
		if (c == '+') {
			p->literal_sync = false;
			p->state = IMAP_STATE_LITERAL_CLOSE;
			return 0;
		}
		if (c == '}') {
			p->state = IMAP_STATE_LITERAL_CR;
			return 0;
		}
		return imap_fail(p, IMAP_PARSER_ERROR_SYNTAX,
			"Invalid literal size", c == '\n');
	case IMAP_STATE_LITERAL_CLOSE:
		if (imap_line_byte(p) < 0)
			return -1;
		if (c != '}') {
			return imap_fail(p, IMAP_PARSER_ERROR_SYNTAX,
				"Invalid literal size", c == '\n');
		}
		p->state = IMAP_STATE_LITERAL_CR;
		return 0;
	case IMAP_STATE_LITERAL_CR:
	case IMAP_STATE_LITERAL_LF:
		if (imap_line_byte(p) < 0)
			return -1;
		if (c == '\r' && p->state == IMAP_STATE_LITERAL_CR) {
			p->state = IMAP_STATE_LITERAL_LF;
			return 0;
		}
		if (c != '\n') {
			return imap_fail(p, IMAP_PARSER_ERROR_SYNTAX,
				"Literal size not at the end of the line",
				false);
		}
		if (p->literal_size > UINT32_MAX) {
			p->error_fatal = !p->literal_sync;
			return imap_fail(p, IMAP_PARSER_ERROR_LITERAL_TOO_BIG,
				"Literal size too large", true);
		}
		if (p->literal_size > p->limits.max_literal_bytes) {
			/* a synchronizing literal's bytes never come (no
			 * "+"), a non-synchronizing one's are on the way */
			p->error_fatal = !p->literal_sync;
			return imap_fail(p, IMAP_PARSER_ERROR_LITERAL_TOO_BIG,
				"Literal too big", true);
		}
		p->line_bytes = 0;
		p->literal_left = p->literal_size;
		p->literal_announce = true;
		p->cur_off = buf_len(&p->data);
		p->state = IMAP_STATE_LITERAL_DATA;
		return 2; /* stop: the session acts on the literal */
	case IMAP_STATE_CR:
		if (c != '\n') {
			return imap_fail(p, IMAP_PARSER_ERROR_SYNTAX,
				"CR not followed by LF", false);
		}
		return imap_complete(p);
	case IMAP_STATE_LITERAL_DATA:
	case IMAP_STATE_DONE:
	case IMAP_STATE_ERROR:
		break;
	}
	PASSERT(!"unreachable parser state");
	return -1;
}

/* Re-dispatches the byte that ended an atom (SP, ")" or a line end). */
static int
imap_parse_byte_again(struct imap_parser *p, unsigned char c)
{
	p->line_bytes--; /* counted once already */
	return imap_parse_byte(p, c);
}

int
imap_parser_parse(struct imap_parser *p, const void *data, size_t len,
	size_t *used_r)
{
	const unsigned char *d = data;
	size_t i = 0;
	*used_r = 0;
	if (p->state == IMAP_STATE_DONE)
		return 1;
	if (p->state == IMAP_STATE_ERROR)
		return -1;
	while (i < len) {
		if (p->state == IMAP_STATE_LITERAL_DATA) {
			size_t n = len - i;
			if (n > p->literal_left)
				n = (size_t)p->literal_left;
			buf_append(&p->data, d + i, n);
			i += n;
			p->literal_left -= n;
			if (p->literal_left > 0)
				break;
			if (imap_tok_finish(p, IMAP_TOK_LITERAL) < 0) {
				*used_r = i;
				return -1;
			}
			p->state = IMAP_STATE_AFTER_ARG;
			continue;
		}
		int ret = imap_parse_byte(p, d[i++]);
		if (ret == 0)
			continue;
		*used_r = i;
		if (ret == 2) {
			/* a zero-byte literal is complete at once */
			if (p->literal_left == 0) {
				if (imap_tok_finish(p, IMAP_TOK_LITERAL) < 0)
					return -1;
				p->state = IMAP_STATE_AFTER_ARG;
			}
			return 0;
		}
		return ret;
	}
	*used_r = i;
	return 0;
}

bool
imap_parser_literal_begins(struct imap_parser *p, uint64_t *size_r,
	bool *sync_r)
{
	if (!p->literal_announce)
		return false;
	p->literal_announce = false;
	*size_r = p->literal_size;
	*sync_r = p->literal_sync;
	return true;
}

uint64_t
imap_parser_literal_left(const struct imap_parser *p)
{
	return p->state == IMAP_STATE_LITERAL_DATA ? p->literal_left : 0;
}

const char *
imap_parser_tag(const struct imap_parser *p)
{
	return p->have_tag ? buf_data(&p->tag) : NULL;
}

const char *
imap_parser_command(const struct imap_parser *p)
{
	return p->have_cmd ? buf_data(&p->cmd) : NULL;
}

const struct imap_arg *
imap_parser_args(const struct imap_parser *p, unsigned int *count_r)
{
	static const struct imap_arg eol = { .type = IMAP_ARG_EOL };
	if (count_r != NULL)
		*count_r = p->state == IMAP_STATE_DONE ? p->n_top : 0;
	return p->state == IMAP_STATE_DONE ? p->args : &eol;
}

const char *
imap_parser_error(const struct imap_parser *p, enum imap_parser_error *kind_r,
	bool *fatal_r)
{
	if (kind_r != NULL)
		*kind_r = p->error_kind;
	if (fatal_r != NULL)
		*fatal_r = p->error_fatal;
	return p->error != NULL ? p->error : "";
}

bool
imap_arg_get_atom(const struct imap_arg *arg, const char **str_r)
{
	if (arg->type != IMAP_ARG_ATOM)
		return false;
	*str_r = arg->str;
	return true;
}

bool
imap_arg_get_string(const struct imap_arg *arg, const char **str_r,
	size_t *len_r)
{
	if (arg->type != IMAP_ARG_QUOTED && arg->type != IMAP_ARG_LITERAL)
		return false;
	*str_r = arg->str;
	if (len_r != NULL)
		*len_r = arg->len;
	return true;
}

bool
imap_arg_get_astring(const struct imap_arg *arg, const char **str_r,
	size_t *len_r)
{
	if (arg->type != IMAP_ARG_ATOM && arg->type != IMAP_ARG_QUOTED &&
	    arg->type != IMAP_ARG_LITERAL)
		return false;
	*str_r = arg->str;
	if (len_r != NULL)
		*len_r = arg->len;
	return true;
}

bool
imap_arg_get_list(const struct imap_arg *arg, const struct imap_arg **list_r,
	unsigned int *count_r)
{
	if (arg->type != IMAP_ARG_LIST)
		return false;
	*list_r = arg->list;
	if (count_r != NULL)
		*count_r = arg->list_count;
	return true;
}

bool
imap_arg_is_nil(const struct imap_arg *arg)
{
	return imap_arg_atom_equals(arg, "NIL");
}

bool
imap_arg_atom_equals(const struct imap_arg *arg, const char *word)
{
	return arg->type == IMAP_ARG_ATOM && strcasecmp(arg->str, word) == 0;
}
