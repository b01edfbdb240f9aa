/* test_smtp_cmd.c: SMTP command line, path and MAIL/RCPT parameter parsing. */
#include "postier.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proto/smtp_cmd.h"

static void
test_cmd_line(void **state)
{
	(void)state;
	static const struct {
		const char *name, *in;
		int ret;
		enum smtp_verb verb;
		const char *arg;
	} rows[] = {
		{ "ehlo", "EHLO client.example", 0, SMTP_VERB_EHLO, "client.example" },
		{ "lower case", "ehlo x", 0, SMTP_VERB_EHLO, "x" },
		{ "mixed case", "MaIl FROM:<a@b>", 0, SMTP_VERB_MAIL, "FROM:<a@b>" },
		{ "no arg", "DATA", 0, SMTP_VERB_DATA, "" },
		{ "trailing space", "QUIT  ", 0, SMTP_VERB_QUIT, "" },
		{ "extra spaces", "RCPT   TO:<a@b>", 0, SMTP_VERB_RCPT, "TO:<a@b>" },
		{ "stray CR", "NOOP\r", 0, SMTP_VERB_NOOP, "" },
		{ "starttls", "STARTTLS", 0, SMTP_VERB_STARTTLS, "" },
		{ "auth", "AUTH PLAIN AGEAYg==", 0, SMTP_VERB_AUTH, "PLAIN AGEAYg==" },
		{ "unknown", "XYZZY 1", 0, SMTP_VERB_UNKNOWN, "1" },
		{ "prefix of verb", "HEL x", 0, SMTP_VERB_UNKNOWN, "x" },
		{ "verb glued", "EHLOx", 0, SMTP_VERB_UNKNOWN, "" },
		{ "empty", "", -1, SMTP_VERB_UNKNOWN, "" },
		{ "spaces only", "   ", -1, SMTP_VERB_UNKNOWN, "" },
		{ "leading space", " QUIT", 0, SMTP_VERB_UNKNOWN, "QUIT" },
	};
	for (size_t i = 0; i < N_ELEMENTS(rows); i++) {
		struct smtp_cmd cmd;
		const struct smtp_error *err = NULL;
		int ret = smtp_cmd_parse(rows[i].in, strlen(rows[i].in), &cmd, &err);
		if (ret != rows[i].ret)
			fail_msg("row '%s': ret %d want %d", rows[i].name, ret,
				rows[i].ret);
		if (ret < 0) {
			if (err == NULL || err->code != 500)
				fail_msg("row '%s': no 500 error", rows[i].name);
			continue;
		}
		if (cmd.verb != rows[i].verb)
			fail_msg("row '%s': verb %d want %d", rows[i].name,
				cmd.verb, rows[i].verb);
		if (cmd.arg_len != strlen(rows[i].arg) ||
		    memcmp(cmd.arg, rows[i].arg, cmd.arg_len) != 0)
			fail_msg("row '%s': arg '%.*s' want '%s'", rows[i].name,
				(int)cmd.arg_len, cmd.arg, rows[i].arg);
	}
	/* NUL inside the line */
	struct smtp_cmd cmd;
	const struct smtp_error *err;
	assert_int_equal(smtp_cmd_parse("NO\0OP", 5, &cmd, &err), -1);
	assert_string_equal(smtp_verb_name(SMTP_VERB_RCPT), "RCPT");
}

struct path_row {
	const char *name, *in;
	int ret;
	const char *addr;      /* canonical on success; esc on failure */
	const char *domain;
};

static void
run_path_rows(const struct path_row *rows, size_t n, bool mail)
{
	for (size_t i = 0; i < n; i++) {
		const struct smtp_error *err = NULL;
		struct smtp_mail_args args;
		struct smtp_path rpath;
		struct smtp_path *path = mail ? &args.path : &rpath;
		int ret = mail ?
			smtp_mail_parse(rows[i].in, strlen(rows[i].in), &args, &err) :
			smtp_rcpt_parse(rows[i].in, strlen(rows[i].in), &rpath, &err);
		if (ret != rows[i].ret)
			fail_msg("row '%s': ret %d want %d (%s)", rows[i].name, ret,
				rows[i].ret, err != NULL ? err->text : "");
		if (ret < 0) {
			char got[32];
			snprintf(got, sizeof(got), "%d %s", err->code, err->esc);
			if (strcmp(got, rows[i].addr) != 0)
				fail_msg("row '%s': error '%s' want '%s'",
					rows[i].name, got, rows[i].addr);
			continue;
		}
		if (strcmp(path->addr, rows[i].addr) != 0)
			fail_msg("row '%s': addr '%s' want '%s'", rows[i].name,
				path->addr, rows[i].addr);
		if (strcmp(path->domain, rows[i].domain) != 0)
			fail_msg("row '%s': domain '%s' want '%s'", rows[i].name,
				path->domain, rows[i].domain);
	}
}

static void
test_rcpt(void **state)
{
	(void)state;
	static char long_local[400], too_long[400];
	memset(long_local, 0, sizeof(long_local));
	/* "TO:<" + 240 x "a" + "@b.example>" = 253 + 2 brackets: fits */
	strcpy(long_local, "TO:<");
	memset(long_local + 4, 'a', 240);
	strcat(long_local, "@b.example>");
	strcpy(too_long, "TO:<");
	memset(too_long + 4, 'a', 250);
	too_long[254] = '\0';
	strcat(too_long, "@b.example>");
	static char want_long[300];
	memset(want_long, 'a', 240);
	strcpy(want_long + 240, "@b.example");

	const struct path_row rows[] = {
		{ "simple", "TO:<bob@example.org>", 0, "bob@example.org", "example.org" },
		{ "space after colon", "TO: <bob@example.org>", 0, "bob@example.org", "example.org" },
		{ "lower to", "to:<bob@example.org>", 0, "bob@example.org", "example.org" },
		{ "domain lowered", "TO:<Bob@EXAMPLE.Org>", 0, "Bob@example.org", "example.org" },
		{ "dots", "TO:<a.b.c@x.y.z>", 0, "a.b.c@x.y.z", "x.y.z" },
		{ "atext", "TO:<a+tag!#$%&'*/=?^_`{|}~-@x>", 0, "a+tag!#$%&'*/=?^_`{|}~-@x", "x" },
		{ "quoted plain", "TO:<\"bob\"@example.org>", 0, "bob@example.org", "example.org" },
		{ "quoted space", "TO:<\"bob smith\"@x.org>", 0, "\"bob smith\"@x.org", "x.org" },
		{ "quoted pair", "TO:<\"a\\\"b\"@x.org>", 0, "\"a\\\"b\"@x.org", "x.org" },
		{ "quoted gt", "TO:<\"a>b\"@x.org>", 0, "\"a>b\"@x.org", "x.org" },
		{ "quoted at", "TO:<\"a@b\"@x.org>", 0, "\"a@b\"@x.org", "x.org" },
		{ "source route", "TO:<@r1.example,@r2.example:bob@x.org>", 0, "bob@x.org", "x.org" },
		{ "address literal", "TO:<bob@[192.0.2.1]>", 0, "bob@[192.0.2.1]", "[192.0.2.1]" },
		{ "ipv6 literal", "TO:<bob@[IPv6:2001:db8::1]>", 0, "bob@[ipv6:2001:db8::1]", "[ipv6:2001:db8::1]" },
		{ "postmaster", "TO:<Postmaster>", 0, "postmaster", "" },
		{ "postmaster domain", "TO:<postmaster@x.org>", 0, "postmaster@x.org", "x.org" },
		{ "hyphen domain", "TO:<a@my-host.x>", 0, "a@my-host.x", "my-host.x" },
		{ "long local part", long_local, 0, want_long, "b.example" },
		{ "path too long", too_long, -1, "501 5.1.3", "" },
		{ "null path", "TO:<>", -1, "501 5.1.3", "" },
		{ "no brackets", "TO:bob@x.org", -1, "501 5.1.3", "" },
		{ "no closing", "TO:<bob@x.org", -1, "501 5.1.3", "" },
		{ "no domain", "TO:<bob>", -1, "501 5.1.3", "" },
		{ "empty domain", "TO:<bob@>", -1, "501 5.1.3", "" },
		{ "leading dot", "TO:<.bob@x.org>", -1, "501 5.1.3", "" },
		{ "double dot", "TO:<a..b@x.org>", -1, "501 5.1.3", "" },
		{ "trailing dot domain", "TO:<a@x.org.>", -1, "501 5.1.3", "" },
		{ "hyphen start", "TO:<a@-x.org>", -1, "501 5.1.3", "" },
		{ "hyphen end", "TO:<a@x-.org>", -1, "501 5.1.3", "" },
		{ "underscore domain", "TO:<a@x_y.org>", -1, "501 5.1.3", "" },
		{ "space in local", "TO:<a b@x.org>", -1, "501 5.1.3", "" },
		{ "8bit local", "TO:<j\xc3\xa9@x.org>", -1, "501 5.1.3", "" },
		{ "unterminated quote", "TO:<\"abc@x.org>", -1, "501 5.1.3", "" },
		{ "control in quote", "TO:<\"a\x01\"@x.org>", -1, "501 5.1.3", "" },
		{ "garbage after", "TO:<a@x.org>junk", -1, "501 5.5.4", "" },
		{ "parameter", "TO:<a@x.org> NOTIFY=NEVER", -1, "555 5.5.4", "" },
		{ "no TO", "<a@x.org>", -1, "501 5.5.4", "" },
		{ "FROM instead", "FROM:<a@x.org>", -1, "501 5.5.4", "" },
		{ "empty literal", "TO:<a@[]>", -1, "501 5.1.3", "" },
		{ "two ats", "TO:<a@b@c>", -1, "501 5.1.3", "" },
	};
	run_path_rows(rows, N_ELEMENTS(rows), false);
}

static void
test_mail(void **state)
{
	(void)state;
	const struct path_row rows[] = {
		{ "simple", "FROM:<alice@example.org>", 0, "alice@example.org", "example.org" },
		{ "null sender", "FROM:<>", 0, "", "" },
		{ "params", "FROM:<a@x.org> SIZE=1000 BODY=8BITMIME", 0, "a@x.org", "x.org" },
		{ "auth param", "FROM:<a@x.org> AUTH=<>", 0, "a@x.org", "x.org" },
		{ "lowercase params", "from:<a@x.org> size=5 body=7bit", 0, "a@x.org", "x.org" },
		{ "trailing space", "FROM:<a@x.org> ", 0, "a@x.org", "x.org" },
		{ "postmaster bare", "FROM:<postmaster>", -1, "501 5.1.7", "" },
		{ "bad sender", "FROM:<a@@x>", -1, "501 5.1.7", "" },
		{ "no FROM", "TO:<a@x.org>", -1, "501 5.5.4", "" },
		{ "unknown param", "FROM:<a@x.org> RET=FULL", -1, "555 5.5.4", "" },
		{ "size not number", "FROM:<a@x.org> SIZE=12a", -1, "501 5.5.4", "" },
		{ "size empty", "FROM:<a@x.org> SIZE", -1, "501 5.5.4", "" },
		{ "size 21 digits", "FROM:<a@x.org> SIZE=123456789012345678901", -1, "501 5.5.4", "" },
		{ "size twice", "FROM:<a@x.org> SIZE=1 SIZE=2", -1, "501 5.5.4", "" },
		{ "body binary", "FROM:<a@x.org> BODY=BINARYMIME", -1, "501 5.5.4", "" },
		{ "param no space", "FROM:<a@x.org>SIZE=1", -1, "501 5.5.4", "" },
		{ "param bad keyword", "FROM:<a@x.org> -X=1", -1, "501 5.5.4", "" },
		{ "param empty value", "FROM:<a@x.org> SIZE=", -1, "501 5.5.4", "" },
	};
	run_path_rows(rows, N_ELEMENTS(rows), true);

	struct smtp_mail_args args;
	const struct smtp_error *err;
	const char *in = "FROM:<a@x.org> SIZE=143360 BODY=8BITMIME";
	assert_int_equal(smtp_mail_parse(in, strlen(in), &args, &err), 0);
	assert_true(args.has_size);
	assert_int_equal(args.size, 143360);
	assert_int_equal(args.body, SMTP_BODY_8BITMIME);
	in = "FROM:<> SIZE=99999999999999999999";
	assert_int_equal(smtp_mail_parse(in, strlen(in), &args, &err), 0);
	assert_true(args.path.null);
	assert_true(args.size == UINT64_MAX);
}

static void
test_helo(void **state)
{
	(void)state;
	const struct smtp_error *err;
	assert_int_equal(smtp_helo_parse("mx.example.org", 14, &err), 0);
	assert_int_equal(smtp_helo_parse("[192.0.2.1]", 11, &err), 0);
	assert_int_equal(smtp_helo_parse("", 0, &err), -1);
	assert_int_equal(err->code, 501);
	assert_int_equal(smtp_helo_parse("a b", 3, &err), -1);
	assert_int_equal(smtp_helo_parse("a\x80", 2, &err), -1);
	char big[300];
	memset(big, 'a', sizeof(big));
	assert_int_equal(smtp_helo_parse(big, sizeof(big), &err), -1);
}

static void
test_bdat(void **state)
{
	(void)state;
	static const struct {
		const char *name, *in;
		int ret;
		uint64_t size;
		bool last;
	} rows[] = {
		{ "size", "100", 0, 100, false },
		{ "last", "0 LAST", 0, 0, true },
		{ "last lower", "143360 last", 0, 143360, true },
		{ "18 digits", "999999999999999999", 0, 999999999999999999ULL, false },
		{ "19 digits", "1000000000000000000", -1, 0, false },
		{ "empty", "", -1, 0, false },
		{ "negative", "-1", -1, 0, false },
		{ "junk", "10 FIRST", -1, 0, false },
		{ "two spaces", "10  LAST", -1, 0, false },
		{ "glued", "10LAST", -1, 0, false },
	};
	for (size_t i = 0; i < N_ELEMENTS(rows); i++) {
		uint64_t size = 0;
		bool last = false;
		const struct smtp_error *err;
		int ret = smtp_bdat_parse(rows[i].in, strlen(rows[i].in), &size,
			&last, &err);
		if (ret != rows[i].ret)
			fail_msg("row '%s': ret %d", rows[i].name, ret);
		if (ret == 0 && (size != rows[i].size || last != rows[i].last))
			fail_msg("row '%s': size/last differ", rows[i].name);
		if (ret < 0 && err->code != 501)
			fail_msg("row '%s': code %d", rows[i].name, err->code);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cmd_line),
		cmocka_unit_test(test_rcpt),
		cmocka_unit_test(test_mail),
		cmocka_unit_test(test_helo),
		cmocka_unit_test(test_bdat),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
