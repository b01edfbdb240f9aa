/* test_password.c: Dovecot password schemes against published vectors
 * (Drepper's SHA-crypt spec, Openwall crypt_blowfish tests, OpenSSL's
 * `openssl passwd -1/-5/-6`), and hashes made by password_hash(). */
#include "postier.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "password.h"

struct verify_case {
	const char *name;
	const char *stored;
	const char *password;
	int want;
};

static const struct verify_case verify_cases[] = {
	{ "sha512 ok", "{SHA512-CRYPT}$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", "Hello world!", 1 },
	{ "sha512 wrong", "{SHA512-CRYPT}$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", "Hello world", 0 },
	{ "sha512 lower-case scheme", "{sha512-crypt}$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", "Hello world!", 1 },
	{ "sha256 ok", "{SHA256-CRYPT}$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5", "Hello world!", 1 },
	{ "sha256 wrong", "{SHA256-CRYPT}$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5", "hello world!", 0 },
	{ "md5 ok", "{MD5-CRYPT}$1$saltstri$YMyguxXMBpd2TEZ.vS/3q1", "Hello world!", 1 },
	{ "md5 wrong", "{MD5-CRYPT}$1$saltstri$YMyguxXMBpd2TEZ.vS/3q1", "", 0 },
	{ "blowfish ok", "{BLF-CRYPT}$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U", 1 },
	{ "blowfish 2", "{BLF-CRYPT}$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK", "U*U*", 1 },
	{ "blowfish wrong", "{BLF-CRYPT}$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK", "U*U", 0 },
	{ "crypt prefix", "{CRYPT}$1$saltstri$YMyguxXMBpd2TEZ.vS/3q1", "Hello world!", 1 },
	{ "no prefix is crypt", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", "Hello world!", 1 },
	{ "no prefix wrong", "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5", "x", 0 },
	{ "plain ok", "{PLAIN}Alice-Secret-1", "Alice-Secret-1", 1 },
	{ "plain wrong", "{PLAIN}Alice-Secret-1", "Alice-Secret-", 0 },
	{ "plain longer", "{PLAIN}Alice", "Alice-Secret-1", 0 },
	{ "plain with colon and brace", "{PLAIN}a}b:c", "a}b:c", 1 },
	{ "unknown scheme", "{SSHA}abc", "abc", -1 },
	{ "unterminated scheme", "{PLAIN", "x", -1 },
	{ "empty crypt", "{CRYPT}", "x", -1 },
	{ "garbage hash", "{SHA512-CRYPT}notahash", "x", -1 },
};

static void
test_verify_vectors(void **state ATTR_UNUSED)
{
	for (size_t i = 0; i < N_ELEMENTS(verify_cases); i++) {
		const struct verify_case *c = &verify_cases[i];
		const char *error = NULL;
		int r = password_verify(c->stored, c->password, &error);
		if (r != c->want) {
			fail_msg("%s: got %d want %d (%s)", c->name, r, c->want,
				error != NULL ? error : "");
		}
	}
}

static void
test_hash_roundtrip(void **state ATTR_UNUSED)
{
	static const struct { const char *scheme, *prefix; } schemes[] = {
		{ "SHA512-CRYPT", "{SHA512-CRYPT}$6$" },
		{ "sha256-crypt", "{SHA256-CRYPT}$5$" },
		{ "BLF-CRYPT", "{BLF-CRYPT}$2y$" },
		{ "MD5-CRYPT", "{MD5-CRYPT}$1$" },
		{ "CRYPT", "{CRYPT}$6$" },
		{ "PLAIN", "{PLAIN}s3cret:x" },
	};
	for (size_t i = 0; i < N_ELEMENTS(schemes); i++) {
		const char *error = NULL;
		char *h = password_hash(schemes[i].scheme, "s3cret:x", &error);
		if (h == NULL)
			fail_msg("%s: %s", schemes[i].scheme, error);
		if (strncmp(h, schemes[i].prefix, strlen(schemes[i].prefix)) != 0)
			fail_msg("%s: hash %s lacks %s", schemes[i].scheme, h,
				schemes[i].prefix);
		assert_int_equal(password_verify(h, "s3cret:x", &error), 1);
		assert_int_equal(password_verify(h, "s3cret:y", &error), 0);
		/* a second hash has a different salt */
		char *h2 = password_hash(schemes[i].scheme, "s3cret:x", &error);
		if (strcmp(schemes[i].scheme, "PLAIN") != 0)
			assert_string_not_equal(h, h2);
		free(h);
		free(h2);
	}
	const char *error = NULL;
	assert_null(password_hash("SSHA", "x", &error));
	assert_non_null(error);
	assert_true(password_scheme_is_known("blf-crypt"));
	assert_false(password_scheme_is_known("SHA1"));
	password_dummy_verify("anything");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verify_vectors),
		cmocka_unit_test(test_hash_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
