/* test_mime_decode.c: encoded-words, transfer encodings, charsets and case
 * folding, as SEARCH sees a message; damaged input included. */
#include "postier.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/buf.h"
#include "proto/mime_decode.h"

static void
expect_header(const char *in, const char *want)
{
	struct buf b;
	buf_init(&b);
	mime_header_decode(in, strlen(in), &b);
	if (strcmp(buf_data(&b), want) != 0)
		fail_msg("header '%s': got '%s' want '%s'", in, buf_data(&b),
			want);
	buf_clear(&b);
}

static void
test_encoded_words(void **state)
{
	(void)state;
	expect_header("plain text", "plain text");
	expect_header("=?UTF-8?Q?R=C3=A9union_du_lundi?=", "R\xc3\xa9union du lundi");
	expect_header("=?utf-8?b?Q2Fmw6k=?=", "Caf\xc3\xa9");
	expect_header("=?ISO-8859-1?Q?=E9t=E9?=", "\xc3\xa9t\xc3\xa9");
	/* white space between adjacent words goes, around them stays */
	expect_header("a =?UTF-8?Q?b?= =?UTF-8?Q?c?=\r\n =?UTF-8?Q?d?= e",
		"a bcd e");
	/* RFC 2231 language suffix */
	expect_header("=?UTF-8*fr?Q?=C3=A0?=", "\xc3\xa0");
	/* not encoded-words: left as they are */
	static const char *const bad[] = {
		"=?", "=?UTF-8", "=?UTF-8?Q?abc", "=?UTF-8?X?abc?=",
		"=?" "?Q?abc?=", "=?UTF-8?Q?a b?=", "x=?", "==?" "?==",
	};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++)
		expect_header(bad[i], bad[i]);
	/* an unknown charset keeps the decoded bytes */
	expect_header("=?x-no-such-charset?Q?abc?=", "abc");
	/* a byte the charset forbids becomes U+FFFD */
	expect_header("=?US-ASCII?Q?a?= =?ISO-2022-JP?B?Gy?=", "a\xef\xbf\xbd");
	expect_header("=?UTF-8?Q?=FF?=", "\xff"); /* UTF-8 is not checked */
	expect_header("=?ISO-8859-8?Q?=FF?=", "\xef\xbf\xbd");
}

static void
expect_body(const char *in, const char *enc, const char *cs, const char *want)
{
	struct buf b;
	buf_init(&b);
	mime_body_decode(in, strlen(in), enc, cs, &b);
	if (strcmp(buf_data(&b), want) != 0)
		fail_msg("body '%s' (%s, %s): got '%s' want '%s'", in,
			enc != NULL ? enc : "-", cs != NULL ? cs : "-",
			buf_data(&b), want);
	buf_clear(&b);
}

static void
test_bodies(void **state)
{
	(void)state;
	expect_body("plain", NULL, NULL, "plain");
	expect_body("Q2Fm\r\nw6kg\r\nY3LDqG1l\r\n", "base64", "utf-8",
		"Caf\xc3\xa9 cr\xc3\xa8me");
	expect_body("Q2Fm6Q==", "BASE64", "iso-8859-1", "Caf\xc3\xa9");
	expect_body("a=3Db=\r\nc =E9", "quoted-printable", "latin1",
		"a=bc \xc3\xa9");
	/* damaged: stray characters, cut-off escapes, lone "=" */
	expect_body("Q2F!!m\r\n", "base64", NULL, "Caf");
	expect_body("=", "quoted-printable", NULL, "=");
	expect_body("=4", "quoted-printable", NULL, "=4");
	expect_body("=ZZ", "quoted-printable", NULL, "=ZZ");
	expect_body("x=\n", "quoted-printable", NULL, "x");
	expect_body("raw", "x-uuencode", "x-unknown", "raw");
}

static void
test_fold(void **state)
{
	(void)state;
	static const struct {
		const char *in, *want;
	} rows[] = {
		{ "ABC def", "abc def" },
		{ "\xc3\x89T\xc3\x89", "\xc3\xa9t\xc3\xa9" },          /* ÉTÉ */
		{ "\xce\xa3\xce\x99", "\xcf\x83\xce\xb9" },            /* ΣΙ */
		{ "\xd0\x9c\xd0\x98\xd0\xa0", "\xd0\xbc\xd0\xb8\xd1\x80" }, /* МИР */
		{ "bad\xff\xc3(\xe2\x82", "bad\xff\xc3(\xe2\x82" },   /* kept */
		{ "\xed\xa0\x80", "\xed\xa0\x80" },                    /* surrogate */
		{ "\xc0\x80", "\xc0\x80" },                            /* overlong */
	};
	for (size_t i = 0; i < N_ELEMENTS(rows); i++) {
		struct buf b;
		buf_init(&b);
		mime_utf8_fold(rows[i].in, strlen(rows[i].in), &b);
		if (strcmp(buf_data(&b), rows[i].want) != 0)
			fail_msg("fold row %zu: got '%s'", i, buf_data(&b));
		buf_clear(&b);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encoded_words),
		cmocka_unit_test(test_bodies),
		cmocka_unit_test(test_fold),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
