/* test_imap_parser.c: the IMAP command parser, sequence sets, fetch
 * attributes and search keys. Every parser row runs whole and one byte at a
 * time; both runs must give the same result. */
#include "postier.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/buf.h"
#include "proto/imap_date.h"
#include "proto/imap_fetch.h"
#include "proto/imap_parser.h"
#include "proto/imap_search.h"
#include "proto/imap_seqset.h"

static void
dump_args(struct buf *out, const struct imap_arg *args)
{
	for (const struct imap_arg *a = args; a->type != IMAP_ARG_EOL; a++) {
		if (a != args)
			buf_append_char(out, ' ');
		switch (a->type) {
		case IMAP_ARG_ATOM:
			buf_printf(out, "a:%s", a->str);
			break;
		case IMAP_ARG_QUOTED:
			buf_printf(out, "q:%s", a->str);
			break;
		case IMAP_ARG_LITERAL:
			buf_printf(out, "l%zu:", a->len);
			buf_append(out, a->str, a->len);
			break;
		case IMAP_ARG_LIST:
			buf_append_char(out, '(');
			dump_args(out, a->list);
			buf_append_char(out, ')');
			break;
		case IMAP_ARG_EOL:
			break;
		}
	}
}

/* Feeds in with pieces of at most step bytes. Each command's outcome is
 * appended to out: "OK tag cmd args\n", "ERR tag error\n", literal starts
 * "LIT n sync\n". */
static void
run_parser(const char *in, size_t len, size_t step,
	const struct imap_parser_limits *limits, struct buf *out)
{
	struct imap_parser *p = imap_parser_new(limits);
	size_t pos = 0;
	while (pos < len) {
		size_t n = len - pos < step ? len - pos : step;
		size_t used;
		int ret = imap_parser_parse(p, in + pos, n, &used);
		pos += used;
		uint64_t size;
		bool sync;
		if (imap_parser_literal_begins(p, &size, &sync)) {
			buf_printf(out, "LIT %llu %s\n",
				(unsigned long long)size,
				sync ? "sync" : "nonsync");
		}
		if (ret == 1) {
			const char *tag = imap_parser_tag(p);
			buf_printf(out, "OK %s %s", tag,
				imap_parser_command(p));
			const struct imap_arg *args = imap_parser_args(p, NULL);
			if (args->type != IMAP_ARG_EOL)
				buf_append_char(out, ' ');
			dump_args(out, args);
			buf_append_char(out, '\n');
			imap_parser_reset(p);
		} else if (ret < 0) {
			bool fatal;
			const char *tag = imap_parser_tag(p);
			const char *error = imap_parser_error(p, NULL, &fatal);
			buf_printf(out, "ERR %s %s%s\n", tag != NULL ? tag : "*",
				error, fatal ? " FATAL" : "");
			imap_parser_reset(p);
			if (fatal)
				break;
		} else if (used == 0 && n > 0) {
			fail_msg("parser made no progress");
		}
	}
	if (imap_parser_literal_left(p) > 0)
		buf_printf(out, "PENDING %llu\n",
			(unsigned long long)imap_parser_literal_left(p));
	imap_parser_free(&p);
}

static void
test_parser_table(void **state)
{
	(void)state;
	static const struct {
		const char *name, *in, *want;
	} rows[] = {
		{ "simple", "a1 NOOP\r\n", "OK a1 NOOP\n" },
		{ "bare LF", "a1 NOOP\n", "OK a1 NOOP\n" },
		{ "two commands", "a NOOP\r\nb CAPABILITY\r\n",
		  "OK a NOOP\nOK b CAPABILITY\n" },
		{ "empty lines skipped", "\r\n\r\na NOOP\r\n", "OK a NOOP\n" },
		{ "atoms and quoted", "t LOGIN bob \"pa ss\\\"w\\\\\"\r\n",
		  "OK t LOGIN a:bob q:pa ss\"w\\\n" },
		{ "sync literal", "t LOGIN {3}\r\nbob {2}\r\npw\r\n",
		  "LIT 3 sync\nLIT 2 sync\nOK t LOGIN l3:bob l2:pw\n" },
		{ "non-sync literal", "t LOGIN {3+}\r\nbob pw\r\n",
		  "LIT 3 nonsync\nOK t LOGIN l3:bob a:pw\n" },
		{ "empty literal", "t LOGIN {0}\r\n x\r\n",
		  "LIT 0 sync\nOK t LOGIN l0: a:x\n" },
		{ "literal with CRLF inside", "t APPEND INBOX {4}\r\na\r\nb\r\n",
		  "LIT 4 sync\nOK t APPEND a:INBOX l4:a\r\nb\n" },
		{ "lists", "t STORE 1:* +FLAGS (\\Seen \\Deleted)\r\n",
		  "OK t STORE a:1:* a:+FLAGS (a:\\Seen a:\\Deleted)\n" },
		{ "nested lists", "t X (a (b (c)) ())\r\n",
		  "OK t X (a:a (a:b (a:c)) ())\n" },
		{ "fetch section", "t FETCH 1 (BODY.PEEK[HEADER.FIELDS (FROM TO)]<0.512> UID)\r\n",
		  "OK t FETCH a:1 (a:BODY.PEEK[HEADER.FIELDS (FROM TO)]<0.512> a:UID)\n" },
		{ "empty section", "t FETCH 1:* BODY[]\r\n",
		  "OK t FETCH a:1:* a:BODY[]\n" },
		{ "list wildcards", "t LIST \"\" %\r\n", "OK t LIST q: a:%\n" },
		{ "utf-8 in quoted", "t SEARCH CHARSET UTF-8 SUBJECT \"\xc3\xa9t\xc3\xa9\"\r\n",
		  "OK t SEARCH a:CHARSET a:UTF-8 a:SUBJECT q:\xc3\xa9t\xc3\xa9\n" },
		{ "trailing space", "t NOOP \r\n", "OK t NOOP\n" },
		{ "8-bit in atom", "t SELECT IN\xc3\xa9OX\r\nu NOOP\r\n",
		  "ERR t 8-bit byte in atom\nOK u NOOP\n" },
		{ "8-bit in tag", "\xc3\xa9 NOOP\r\nu NOOP\r\n",
		  "ERR * Invalid character in tag\nOK u NOOP\n" },
		{ "missing command", "t\r\nu NOOP\r\n",
		  "ERR t Missing command name\nOK u NOOP\n" },
		{ "plus in tag", "+ NOOP\r\n", "ERR * Invalid character in tag\n" },
		{ "unterminated quoted", "t LOGIN \"bob\r\nu NOOP\r\n",
		  "ERR t Unterminated quoted string\nOK u NOOP\n" },
		{ "unterminated list", "t X (a b\r\nu NOOP\r\n",
		  "ERR t Unterminated list\nOK u NOOP\n" },
		{ "unexpected paren", "t X a)\r\n", "ERR t Unexpected ')'\n" },
		{ "missing space", "t X \"a\"b\r\nu NOOP\r\n",
		  "ERR t Missing space between arguments\nOK u NOOP\n" },
		{ "bad literal size", "t X {a}\r\nu NOOP\r\n",
		  "ERR t Invalid literal size\nOK u NOOP\n" },
		{ "literal not at line end", "t X {3} y\r\nu NOOP\r\n",
		  "ERR t Literal size not at the end of the line\nOK u NOOP\n" },
		{ "huge literal size", "t X {99999999999999999999999}\r\nu NOOP\r\n",
		  "ERR t Literal size too large\nOK u NOOP\n" },
		{ "huge non-sync literal size", "t X {99999999999+}\r\n",
		  "ERR t Literal size too large FATAL\n" },
		{ "sync literal over limit", "t APPEND INBOX {2000}\r\nu NOOP\r\n",
		  "ERR t Literal too big\nOK u NOOP\n" },
		{ "non-sync literal over limit", "t APPEND INBOX {2000+}\r\nxxxx",
		  "ERR t Literal too big FATAL\n" },
		{ "unterminated literal", "t LOGIN {10}\r\nabc",
		  "LIT 10 sync\nPENDING 7\n" },
		{ "line too long", "t X aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
		  "ERR t Line too long FATAL\n" },
		{ "too many args", "t X a a a a a a a a a a a a a a a a a a a a a\r\nu NOOP\r\n",
		  "ERR t Too many arguments\nOK u NOOP\n" },
		{ "too deep", "t X ((((((((((a))))))))))\r\nu NOOP\r\n",
		  "ERR t Lists nested too deep\nOK u NOOP\n" },
		{ "bracket unterminated", "t FETCH 1 BODY[HEADER\r\nu NOOP\r\n",
		  "ERR t Missing ']'\nOK u NOOP\n" },
		{ "CR alone", "t NOOP\rx\r\nu NOOP\r\n",
		  "ERR t CR not followed by LF\nOK u NOOP\n" },
		{ "NUL in quoted", "t X \"a\0b\"\r\nu NOOP\r\n",
		  "ERR t Unterminated quoted string\nOK u NOOP\n" },
	};
	struct imap_parser_limits limits = {
		.max_line_bytes = 100, .max_literal_bytes = 1000,
		.max_args = 20, .max_depth = 8,
	};
	for (size_t i = 0; i < N_ELEMENTS(rows); i++) {
		size_t len = strlen(rows[i].in);
		if (strcmp(rows[i].name, "NUL in quoted") == 0)
			len = 19;
		struct buf whole, bytes;
		buf_init(&whole);
		buf_init(&bytes);
		run_parser(rows[i].in, len, len, &limits, &whole);
		run_parser(rows[i].in, len, 1, &limits, &bytes);
		if (strcmp(buf_data(&whole), rows[i].want) != 0)
			fail_msg("row '%s' whole: got\n%s\nwant\n%s",
				rows[i].name, buf_data(&whole), rows[i].want);
		if (strcmp(buf_data(&bytes), rows[i].want) != 0)
			fail_msg("row '%s' bytewise: got\n%s\nwant\n%s",
				rows[i].name, buf_data(&bytes), rows[i].want);
		buf_clear(&whole);
		buf_clear(&bytes);
	}
}

static void
test_seqset(void **state)
{
	(void)state;
	static const struct {
		const char *name, *in;
		uint32_t star;
		const char *want; /* resolved "lo-hi,..." or "ERR" */
	} rows[] = {
		{ "single", "5", 10, "5-5" },
		{ "range", "2:4", 10, "2-4" },
		{ "reversed", "4:2", 10, "2-4" },
		{ "star", "*", 10, "10-10" },
		{ "star star", "*:*", 10, "10-10" },
		{ "range to star", "3:*", 10, "3-10" },
		{ "beyond star", "20:*", 10, "10-20" },
		{ "merge", "1,2,3:5,9,8", 10, "1-5,8-9" },
		{ "star empty mailbox", "*", 0, "" },
		{ "range empty mailbox", "1:*", 0, "1-1" },
		{ "max uid", "4294967295", 10, "4294967295-4294967295" },
		{ "zero", "0", 10, "ERR" },
		{ "zero in range", "1:0", 10, "ERR" },
		{ "leading zero", "01", 10, "ERR" },
		{ "huge", "4294967296", 10, "ERR" },
		{ "very huge", "99999999999999999999999", 10, "ERR" },
		{ "empty", "", 10, "ERR" },
		{ "trailing comma", "1,", 10, "ERR" },
		{ "double colon", "1:2:3", 10, "ERR" },
		{ "letters", "1:a", 10, "ERR" },
		{ "negative", "-1", 10, "ERR" },
	};
	for (size_t i = 0; i < N_ELEMENTS(rows); i++) {
		struct imap_seqset set, res;
		imap_seqset_init(&set);
		imap_seqset_init(&res);
		const char *error;
		struct buf got;
		buf_init(&got);
		if (imap_seqset_parse(&set, rows[i].in, 100, &error) < 0) {
			buf_append_str(&got, "ERR");
		} else {
			imap_seqset_resolve(&set, rows[i].star, &res);
			for (unsigned int j = 0; j < res.count; j++) {
				buf_printf(&got, "%s%u-%u", j > 0 ? "," : "",
					res.ranges[j].lo, res.ranges[j].hi);
			}
		}
		if (strcmp(buf_data(&got), rows[i].want) != 0)
			fail_msg("row '%s': got %s want %s", rows[i].name,
				buf_data(&got), rows[i].want);
		buf_clear(&got);
		imap_seqset_clear(&set);
		imap_seqset_clear(&res);
	}
	struct imap_seqset set, res;
	imap_seqset_init(&set);
	imap_seqset_init(&res);
	const char *error;
	assert_int_equal(imap_seqset_parse(&set, "1:3,7,10:*", 100, &error), 0);
	imap_seqset_resolve(&set, 12, &res);
	assert_true(imap_seqset_contains(&res, 2));
	assert_false(imap_seqset_contains(&res, 5));
	assert_true(imap_seqset_contains(&res, 7));
	assert_true(imap_seqset_contains(&res, 12));
	assert_false(imap_seqset_contains(&res, 13));
	assert_int_equal(imap_seqset_parse(&set, "1,2,3", 2, &error), -1);
	imap_seqset_clear(&set);
	imap_seqset_clear(&res);
}

/* Parses "tag CMD args" and returns its args (parser kept in *pp). */
static const struct imap_arg *
parse_args(const char *line, struct imap_parser **pp)
{
	struct imap_parser_limits limits = IMAP_PARSER_DEFAULT_LIMITS;
	*pp = imap_parser_new(&limits);
	size_t used;
	size_t len = strlen(line);
	int ret = imap_parser_parse(*pp, line, len, &used);
	if (ret != 1)
		fail_msg("could not parse '%s'", line);
	return imap_parser_args(*pp, NULL);
}

static void
test_fetch(void **state)
{
	(void)state;
	static const struct {
		const char *name, *in, *want;
	} rows[] = {
		{ "macro fast", "FAST", "FLAGS INTERNALDATE RFC822.SIZE" },
		{ "macro all", "all", "FLAGS INTERNALDATE RFC822.SIZE ENVELOPE" },
		{ "macro full", "FULL",
		  "FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY" },
		{ "list", "(UID FLAGS rfc822.size)", "UID FLAGS RFC822.SIZE" },
		{ "body whole", "BODY[]", "BODY[]" },
		{ "peek", "BODY.PEEK[]", "BODY[]:peek" },
		{ "partial", "BODY.PEEK[]<10.20>", "BODY[]<10>:peek:10+20" },
		{ "header", "BODY[HEADER]", "BODY[HEADER]" },
		{ "fields", "BODY.PEEK[HEADER.FIELDS (From to)]",
		  "BODY[HEADER.FIELDS (FROM TO)]:peek:f2" },
		{ "fields not", "BODY[HEADER.FIELDS.NOT (Subject)]",
		  "BODY[HEADER.FIELDS.NOT (SUBJECT)]:f1" },
		{ "part", "BODY[1.2]", "BODY[1.2]:p2" },
		{ "part mime", "BODY[1.MIME]", "BODY[1.MIME]:p1" },
		{ "part text", "BODY[2.TEXT]<0.100>", "BODY[2.TEXT]<0>:p1:0+100" },
		{ "rfc822", "(RFC822 RFC822.HEADER RFC822.TEXT)",
		  "RFC822 RFC822.HEADER RFC822.TEXT" },
		{ "structure", "(BODYSTRUCTURE BODY ENVELOPE)",
		  "BODYSTRUCTURE BODY ENVELOPE" },
		{ "unknown", "(FLAGS FOO)", "ERR" },
		{ "mime at top", "BODY[MIME]", "ERR" },
		{ "part zero", "BODY[0]", "ERR" },
		{ "bad section", "BODY[FOO]", "ERR" },
		{ "empty fields", "BODY[HEADER.FIELDS ()]", "ERR" },
		{ "partial zero length", "BODY[]<0.0>", "ERR" },
		{ "partial huge", "BODY[]<99999999999.1>", "ERR" },
		{ "partial unterminated", "BODY[]<1.2", "ERR" },
		{ "trailing dot", "BODY[1.]", "ERR" },
		{ "empty list", "()", "ERR" },
		{ "quoted", "\"FLAGS\"", "ERR" },
	};
	for (size_t i = 0; i < N_ELEMENTS(rows); i++) {
		char line[256];
		snprintf(line, sizeof(line), "t FETCH %s\r\n", rows[i].in);
		struct imap_parser *p;
		const struct imap_arg *args = parse_args(line, &p);
		struct imap_fetch f;
		imap_fetch_init(&f);
		const char *error;
		struct buf got;
		buf_init(&got);
		if (imap_fetch_parse(&f, &args[0], &error) < 0) {
			buf_append_str(&got, "ERR");
		} else {
			for (unsigned int j = 0; j < f.count; j++) {
				const struct imap_fetch_att *a = &f.atts[j];
				buf_printf(&got, "%s%s", j > 0 ? " " : "",
					a->name);
				if (a->peek)
					buf_append_str(&got, ":peek");
				if (a->n_parts > 0)
					buf_printf(&got, ":p%u", a->n_parts);
				if (a->n_fields > 0)
					buf_printf(&got, ":f%u", a->n_fields);
				if (a->partial)
					buf_printf(&got, ":%llu+%llu",
						(unsigned long long)a->offset,
						(unsigned long long)a->length);
			}
		}
		if (strcmp(buf_data(&got), rows[i].want) != 0)
			fail_msg("row '%s': got %s want %s", rows[i].name,
				buf_data(&got), rows[i].want);
		buf_clear(&got);
		imap_fetch_clear(&f);
		imap_parser_free(&p);
	}
}

static void
dump_search(struct buf *out, const struct imap_search_key *k)
{
	switch (k->type) {
	case IMAP_SEARCH_AND:
		buf_append_str(out, "AND(");
		break;
	case IMAP_SEARCH_OR:
		buf_append_str(out, "OR(");
		break;
	case IMAP_SEARCH_NOT:
		buf_append_str(out, "NOT(");
		break;
	case IMAP_SEARCH_HEADER:
		buf_printf(out, "H:%s:%s", k->str, k->str2);
		return;
	case IMAP_SEARCH_FLAG:
		buf_printf(out, "F%u", k->flag_bit);
		return;
	case IMAP_SEARCH_NOFLAG:
		buf_printf(out, "!F%u", k->flag_bit);
		return;
	case IMAP_SEARCH_SEQSET:
	case IMAP_SEARCH_UID:
		buf_printf(out, "%s%u", k->type == IMAP_SEARCH_UID ? "U" : "S",
			k->seqset.count);
		return;
	case IMAP_SEARCH_SINCE:
	case IMAP_SEARCH_BEFORE:
	case IMAP_SEARCH_ON:
	case IMAP_SEARCH_SENTBEFORE:
	case IMAP_SEARCH_SENTON:
	case IMAP_SEARCH_SENTSINCE:
		buf_printf(out, "D%d:%lld", k->type, (long long)k->date);
		return;
	case IMAP_SEARCH_LARGER:
	case IMAP_SEARCH_SMALLER:
		buf_printf(out, "N%d:%llu", k->type,
			(unsigned long long)k->number);
		return;
	default:
		buf_printf(out, "K%d%s%s", k->type, k->str != NULL ? ":" : "",
			k->str != NULL ? k->str : "");
		return;
	}
	for (unsigned int i = 0; i < k->n_children; i++) {
		if (i > 0)
			buf_append_char(out, ' ');
		dump_search(out, &k->children[i]);
	}
	buf_append_char(out, ')');
}

static void
test_search(void **state)
{
	(void)state;
	static const struct {
		const char *name, *in, *want;
	} rows[] = {
		{ "all", "ALL", "AND(K3)" },
		{ "flags", "SEEN unflagged", "AND(F8 !F2)" },
		{ "header", "FROM bob SUBJECT \"hi there\"",
		  "AND(H:FROM:bob H:SUBJECT:hi there)" },
		{ "header key", "HEADER X-Spam yes", "AND(H:X-Spam:yes)" },
		{ "date", "SINCE 1-Feb-1994", "AND(D18:760060800)" },
		{ "quoted date", "BEFORE \"01-Feb-1994\"", "AND(D16:760060800)" },
		{ "or not", "OR SEEN NOT DELETED", "AND(OR(F8 NOT(F4)))" },
		{ "list", "(SEEN FLAGGED) 1:3,5", "AND(AND(F8 F2) S2)" },
		{ "uid", "UID 1:*", "AND(U1)" },
		{ "larger", "LARGER 1000", "AND(N22:1000)" },
		{ "text literal", "TEXT {3}\r\nabc", "AND(K15:abc)" },
		{ "keyword", "KEYWORD $Junk", "AND(K8:$Junk)" },
		{ "missing arg", "FROM", "ERR" },
		{ "bad date", "SINCE 31-Feb-2020", "ERR" },
		{ "bad month", "SINCE 1-Foo-2020", "ERR" },
		{ "or one", "OR SEEN", "ERR" },
		{ "unknown", "FOO", "ERR" },
		{ "empty", "", "ERR" },
		{ "seq zero", "0", "ERR" },
		{ "bad number", "LARGER -1", "ERR" },
		{ "empty list", "()", "ERR" },
	};
	for (size_t i = 0; i < N_ELEMENTS(rows); i++) {
		char line[256];
		snprintf(line, sizeof(line), "t SEARCH %s\r\n", rows[i].in);
		struct imap_parser_limits limits = IMAP_PARSER_DEFAULT_LIMITS;
		struct imap_parser *p = imap_parser_new(&limits);
		size_t used, len = strlen(line), pos = 0;
		int ret;
		do {
			ret = imap_parser_parse(p, line + pos, len - pos, &used);
			pos += used;
		} while (ret == 0 && pos < len);
		assert_int_equal(ret, 1);
		struct imap_search_key *key = NULL;
		const char *error;
		struct buf got;
		buf_init(&got);
		if (imap_search_parse(imap_parser_args(p, NULL), &key,
				      &error) < 0)
			buf_append_str(&got, "ERR");
		else
			dump_search(&got, key);
		if (strcmp(buf_data(&got), rows[i].want) != 0)
			fail_msg("row '%s': got %s want %s", rows[i].name,
				buf_data(&got), rows[i].want);
		buf_clear(&got);
		imap_search_free(&key);
		imap_parser_free(&p);
	}
}

static void
test_dates(void **state)
{
	(void)state;
	time_t t;
	assert_int_equal(imap_datetime_parse("17-Jul-1996 02:44:25 -0700", &t), 0);
	assert_int_equal((long long)t, 837596665LL);
	assert_int_equal(imap_datetime_parse(" 7-Jul-1996 02:44:25 +0000", &t), 0);
	assert_int_equal(imap_datetime_parse("7-Jul-1996 02:44:25", &t), -1);
	assert_int_equal(imap_datetime_parse("17-Jul-1996 25:44:25 +0000", &t), -1);
	assert_int_equal(imap_rfc822_date_parse("Wed, 17 Jul 1996 02:44:25 -0700", &t), 0);
	assert_int_equal((long long)t, 837596665LL);
	assert_int_equal(imap_rfc822_date_parse("garbage", &t), -1);
	setenv("TZ", "UTC", 1);
	struct buf b;
	buf_init(&b);
	imap_datetime_append(&b, 837596665);
	assert_string_equal(buf_data(&b), "\"17-Jul-1996 09:44:25 +0000\"");
	buf_clear(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parser_table),
		cmocka_unit_test(test_seqset),
		cmocka_unit_test(test_fetch),
		cmocka_unit_test(test_search),
		cmocka_unit_test(test_dates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
