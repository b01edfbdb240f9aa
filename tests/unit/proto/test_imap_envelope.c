/* test_imap_envelope.c: MIME structure, ENVELOPE, BODYSTRUCTURE and the
 * CRLF normalization FETCH and SEARCH read messages through. */
#include "postier.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/buf.h"
#include "proto/imap_envelope.h"
#include "proto/mime_part.h"

static void
test_addresses(void **state)
{
	(void)state;
	static const struct {
		const char *in, *want;
	} rows[] = {
		{ "bob@example.org",
		  "((NIL NIL \"bob\" \"example.org\"))" },
		{ "\"Bob, B.\" <bob@example.org>, carol@x.y (Carol)",
		  "((\"Bob, B.\" NIL \"bob\" \"example.org\")(NIL NIL \"carol\" \"x.y\"))" },
		{ "Alice Smith <alice@a.b>",
		  "((\"Alice Smith\" NIL \"alice\" \"a.b\"))" },
		{ "team: a@b.c, d@e.f;",
		  "((NIL NIL \"team\" NIL)(NIL NIL \"a\" \"b.c\")(NIL NIL \"d\" \"e.f\")(NIL NIL NIL NIL))" },
		{ "undisclosed-recipients:;",
		  "((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL))" },
		{ "<@route.x:u@h.i>", "((NIL \"@route.x\" \"u\" \"h.i\"))" },
		{ "nodomain", "((NIL NIL \"nodomain\" \"MISSING_DOMAIN\"))" },
		{ "", "NIL" },
	};
	for (size_t i = 0; i < N_ELEMENTS(rows); i++) {
		struct buf b;
		buf_init(&b);
		imap_address_list_append(&b, rows[i].in);
		if (strcmp(buf_data(&b), rows[i].want) != 0)
			fail_msg("row '%s': got %s want %s", rows[i].in,
				buf_data(&b), rows[i].want);
		buf_clear(&b);
	}
}

static const char multipart[] =
	"From: Alice <alice@example.org>\r\n"
	"To: bob@example.org\r\n"
	"Subject: =?utf-8?q?caf=C3=A9?=\r\n"
	"Date: Wed, 17 Jul 1996 02:44:25 -0700\r\n"
	"Message-ID: <1@example.org>\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed;\r\n boundary=\"XX\"\r\n"
	"\r\n"
	"preamble\r\n"
	"--XX\r\n"
	"Content-Type: text/plain; charset=utf-8\r\n"
	"\r\n"
	"hello\r\n"
	"world\r\n"
	"--XX\r\n"
	"Content-Type: message/rfc822\r\n"
	"\r\n"
	"Subject: inner\r\n"
	"\r\n"
	"inner body\r\n"
	"--XX--\r\n"
	"epilogue\r\n";

static void
test_structure(void **state)
{
	(void)state;
	struct mime_part *root = mime_parse(multipart, sizeof(multipart) - 1);
	assert_true(root->is_multipart);
	assert_int_equal(root->n_children, 2);
	const struct mime_part *p1 = &root->children[0];
	assert_int_equal(p1->body_len, strlen("hello\r\nworld"));
	assert_int_equal(p1->body_lines, 2);
	struct buf b;
	buf_init(&b);
	imap_bodystructure_append(&b, multipart, root, true);
	assert_string_equal(buf_data(&b),
		"((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 12 2 NIL NIL NIL NIL)"
		"(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 28 "
		"(NIL \"inner\" NIL NIL NIL NIL NIL NIL NIL NIL) "
		"(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 1 NIL NIL NIL NIL) 3 NIL NIL NIL NIL)"
		" \"mixed\" (\"boundary\" \"XX\") NIL NIL NIL)");
	buf_reset(&b);
	imap_envelope_append(&b, multipart, root);
	assert_string_equal(buf_data(&b),
		"(\"Wed, 17 Jul 1996 02:44:25 -0700\" \"=?utf-8?q?caf=C3=A9?=\" "
		"((\"Alice\" NIL \"alice\" \"example.org\")) "
		"((\"Alice\" NIL \"alice\" \"example.org\")) "
		"((\"Alice\" NIL \"alice\" \"example.org\")) "
		"((NIL NIL \"bob\" \"example.org\")) NIL NIL NIL \"<1@example.org>\")");
	buf_clear(&b);
	uint32_t parts[] = { 2, 1 };
	const struct mime_part *inner = mime_part_find(root, parts, 2);
	assert_non_null(inner);
	assert_int_equal(inner->body_len, strlen("inner body"));
	uint32_t bad[] = { 3 };
	assert_null(mime_part_find(root, bad, 1));
	mime_part_free(&root);

	/* no header/body separator, no content type, bare LF normalized */
	struct buf n;
	buf_init(&n);
	mime_crlf_normalize("Subject: x\nfoo", 14, &n);
	assert_string_equal(buf_data(&n), "Subject: x\r\nfoo");
	root = mime_parse(buf_data(&n), buf_len(&n));
	assert_int_equal(root->body_len, 0);
	mime_part_free(&root);
	buf_clear(&n);
	/* nesting bomb stays bounded */
	struct buf bomb;
	buf_init(&bomb);
	for (int i = 0; i < 200; i++)
		buf_append_str(&bomb, "Content-Type: message/rfc822\r\n\r\n");
	root = mime_parse(buf_data(&bomb), buf_len(&bomb));
	mime_part_free(&root);
	buf_clear(&bomb);
}

/* The obvious byte loop mime_crlf_normalize() must agree with. */
static void
crlf_reference(const char *d, size_t len, struct buf *out)
{
	for (size_t i = 0; i < len; i++) {
		if (d[i] == '\n' && (i == 0 || d[i - 1] != '\r'))
			buf_append_str(out, "\r\n");
		else if (d[i] == '\r' && (i + 1 == len || d[i + 1] != '\n'))
			buf_append_str(out, "\r\n");
		else
			buf_append_char(out, d[i]);
	}
}

static void
crlf_check(const char *d, size_t len)
{
	struct buf want, got, inplace;
	buf_init(&want);
	buf_init(&got);
	buf_init(&inplace);
	crlf_reference(d, len, &want);
	mime_crlf_normalize(d, len, &got);
	if (buf_len(&got) != buf_len(&want) ||
	    memcmp(buf_data(&got), buf_data(&want), buf_len(&want)) != 0)
		fail_msg("normalize differs at length %zu", len);
	if (mime_crlf_extra(d, len) != buf_len(&want) - len)
		fail_msg("extra wrong at length %zu", len);
	if (mime_crlf_extra(buf_data(&got), buf_len(&got)) != 0)
		fail_msg("output not canonical at length %zu", len);
	buf_append(&inplace, d, len);
	mime_crlf_normalize_buf(&inplace);
	if (buf_len(&inplace) != buf_len(&want) ||
	    memcmp(buf_data(&inplace), buf_data(&want), buf_len(&want)) != 0)
		fail_msg("in-place normalize differs at length %zu", len);
	buf_clear(&want);
	buf_clear(&got);
	buf_clear(&inplace);
}

static void
test_crlf(void **state)
{
	(void)state;
	/* every string of up to 8 bytes over { 'a', CR, LF } */
	static const char alphabet[] = { 'a', '\r', '\n' };
	char s[64];
	for (size_t len = 0; len <= 8; len++) {
		size_t total = 1;
		for (size_t k = 0; k < len; k++)
			total *= 3;
		for (size_t n = 0; n < total; n++) {
			size_t v = n;
			for (size_t k = 0; k < len; k++) {
				s[k] = alphabet[v % 3];
				v /= 3;
			}
			crlf_check(s, len);
		}
	}
	/* CRLF text with one bare LF, lone CR or CR at the end, put at every
	 * position of 48 bytes (three 16-byte blocks and the tail) */
	for (size_t pos = 0; pos < 48; pos++) {
		for (int kind = 0; kind < 3; kind++) {
			char t[48];
			for (size_t k = 0; k < sizeof(t); k++)
				t[k] = k % 8 == 6 ? '\r' : k % 8 == 7 ? '\n' : 'x';
			if (t[pos] == '\r' || t[pos] == '\n')
				continue;
			t[pos] = kind == 0 ? '\n' : '\r';
			crlf_check(t, kind == 2 ? pos + 1 : sizeof(t));
		}
	}
	/* random longer texts */
	srand(7);
	for (int r = 0; r < 2000; r++) {
		size_t len = (size_t)(rand() % 64);
		for (size_t k = 0; k < len; k++)
			s[k] = rand() % 5 == 0 ? alphabet[rand() % 3] : 'b';
		crlf_check(s, len);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_structure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
