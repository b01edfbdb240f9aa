/* test_smtp_auth.c: AUTH argument, strict base64, SASL PLAIN/LOGIN payloads. */
#include "postier.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proto/smtp_auth.h"

static void
test_auth_parse(void **state)
{
	(void)state;
	static const struct {
		const char *name, *in;
		int ret;
		enum smtp_auth_mech mech;
		const char *initial; /* NULL: none */
	} rows[] = {
		{ "plain", "PLAIN", 0, SMTP_AUTH_MECH_PLAIN, NULL },
		{ "plain initial", "PLAIN AGJvYgBzZWNyZXQ=", 0, SMTP_AUTH_MECH_PLAIN, "AGJvYgBzZWNyZXQ=" },
		{ "login lower", "login", 0, SMTP_AUTH_MECH_LOGIN, NULL },
		{ "login initial", "LOGIN Ym9i", 0, SMTP_AUTH_MECH_LOGIN, "Ym9i" },
		{ "empty initial", "PLAIN =", 0, SMTP_AUTH_MECH_PLAIN, "=" },
		{ "unknown", "CRAM-MD5", 0, SMTP_AUTH_MECH_UNKNOWN, NULL },
		{ "empty", "", -1, SMTP_AUTH_MECH_UNKNOWN, NULL },
		{ "bad mech char", "PL@IN", -1, SMTP_AUTH_MECH_UNKNOWN, NULL },
		{ "mech too long", "ABCDEFGHIJKLMNOPQRSTU", -1, SMTP_AUTH_MECH_UNKNOWN, NULL },
		{ "two args", "PLAIN a b", -1, SMTP_AUTH_MECH_UNKNOWN, NULL },
		{ "trailing space", "PLAIN ", -1, SMTP_AUTH_MECH_UNKNOWN, NULL },
	};
	for (size_t i = 0; i < N_ELEMENTS(rows); i++) {
		enum smtp_auth_mech mech;
		const char *init;
		size_t init_len;
		int ret = smtp_auth_parse(rows[i].in, strlen(rows[i].in), &mech,
			&init, &init_len);
		if (ret != rows[i].ret)
			fail_msg("row '%s': ret %d", rows[i].name, ret);
		if (ret < 0)
			continue;
		if (mech != rows[i].mech)
			fail_msg("row '%s': mech %d", rows[i].name, mech);
		if ((init == NULL) != (rows[i].initial == NULL) ||
		    (init != NULL && (init_len != strlen(rows[i].initial) ||
		    memcmp(init, rows[i].initial, init_len) != 0)))
			fail_msg("row '%s': initial response differs", rows[i].name);
	}
}

static void
test_base64(void **state)
{
	(void)state;
	static const struct {
		const char *name, *in;
		int ret;
		const char *out;
		size_t out_len;
	} rows[] = {
		{ "empty marker", "=", 0, "", 0 },
		{ "empty string", "", 0, "", 0 },
		{ "one byte", "YQ==", 0, "a", 1 },
		{ "two bytes", "YWI=", 0, "ab", 2 },
		{ "three bytes", "YWJj", 0, "abc", 3 },
		{ "plain msg", "AGJvYgBzZWNyZXQ=", 0, "\0bob\0secret", 11 },
		{ "all symbols", "+/+/", 0, "\xfb\xff\xbf", 3 },
		{ "no padding", "YQ", -1, NULL, 0 },
		{ "bad length", "YWJjZ", -1, NULL, 0 },
		{ "bad char", "YW*j", -1, NULL, 0 },
		{ "space", "YW Jj", -1, NULL, 0 },
		{ "pad in middle", "YQ==YWJj", -1, NULL, 0 },
		{ "three pads", "Y===", -1, NULL, 0 },
		{ "data after pad", "YQ=a", -1, NULL, 0 },
		{ "non canonical bits", "YR==", -1, NULL, 0 },
		{ "non canonical bits 2", "YWJ=", -1, NULL, 0 },
		{ "crlf", "YWJj\r\n", -1, NULL, 0 },
	};
	for (size_t i = 0; i < N_ELEMENTS(rows); i++) {
		struct buf out;
		buf_init(&out);
		int ret = smtp_base64_decode(rows[i].in, strlen(rows[i].in), &out);
		if (ret != rows[i].ret)
			fail_msg("row '%s': ret %d", rows[i].name, ret);
		if (ret == 0 && (buf_len(&out) != rows[i].out_len ||
		    memcmp(buf_data(&out), rows[i].out, rows[i].out_len) != 0))
			fail_msg("row '%s': output differs", rows[i].name);
		if (ret == 0) {
			/* round trip */
			struct buf enc;
			buf_init(&enc);
			smtp_base64_encode(buf_data(&out), buf_len(&out), &enc);
			const char *want = rows[i].in[0] == '=' ? "" : rows[i].in;
			if (strcmp(buf_data(&enc), want) != 0)
				fail_msg("row '%s': re-encoded '%s'", rows[i].name,
					buf_data(&enc));
			buf_clear(&enc);
		}
		smtp_auth_wipe(&out);
		buf_clear(&out);
	}
}

static void
test_plain_split(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		const char *msg;
		size_t len;
		int ret;
		const char *authzid, *authcid, *passwd;
	} rows[] = {
		{ "no authzid", "\0bob\0secret", 11, 0, "", "bob", "secret" },
		{ "authzid", "bob\0bob\0pw", 10, 0, "bob", "bob", "pw" },
		{ "empty password", "\0bob\0", 5, -1, NULL, NULL, NULL },
		{ "empty user", "\0\0pw", 4, -1, NULL, NULL, NULL },
		{ "one nul", "\0bobsecret", 10, -1, NULL, NULL, NULL },
		{ "no nul", "bobsecret", 9, -1, NULL, NULL, NULL },
		{ "nul in password", "\0bob\0se\0cret", 12, -1, NULL, NULL, NULL },
		{ "nul at end", "\0bob\0secret\0", 12, -1, NULL, NULL, NULL },
		{ "empty", "", 0, -1, NULL, NULL, NULL },
	};
	for (size_t i = 0; i < N_ELEMENTS(rows); i++) {
		struct buf b;
		buf_init(&b);
		buf_append(&b, rows[i].msg, rows[i].len);
		const char *z, *c, *p;
		int ret = smtp_auth_plain_split(b.data != NULL ? b.data : (char *)"",
			buf_len(&b), &z, &c, &p);
		if (ret != rows[i].ret)
			fail_msg("row '%s': ret %d", rows[i].name, ret);
		if (ret == 0 && (strcmp(z, rows[i].authzid) != 0 ||
		    strcmp(c, rows[i].authcid) != 0 ||
		    strcmp(p, rows[i].passwd) != 0))
			fail_msg("row '%s': fields differ", rows[i].name);
		buf_clear(&b);
	}
	/* 256-octet password is refused, 255 accepted */
	struct buf b;
	buf_init(&b);
	buf_append(&b, "\0u\0", 3);
	for (int i = 0; i < 255; i++)
		buf_append_char(&b, 'p');
	const char *z, *c, *p;
	assert_int_equal(smtp_auth_plain_split(b.data, buf_len(&b), &z, &c, &p), 0);
	buf_append_char(&b, 'p');
	assert_int_equal(smtp_auth_plain_split(b.data, buf_len(&b), &z, &c, &p), -1);
	buf_clear(&b);

	assert_int_equal(smtp_auth_login_check("bob", 3), 0);
	assert_int_equal(smtp_auth_login_check("", 0), -1);
	assert_int_equal(smtp_auth_login_check("b\0b", 3), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auth_parse),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_plain_split),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
