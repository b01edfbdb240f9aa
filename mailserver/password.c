/* password.c: verification and creation of Dovecot-style password hashes
 * through libxcrypt. No scheme is implemented here: crypt_rn() does the
 * hashing, this file only maps Dovecot's {SCHEME} prefixes to crypt prefixes
 * and compares in constant time. */
#include "postier.h"

#include <crypt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xmalloc.h"
#include "password.h"

struct password_scheme {
	const char *name;
	const char *crypt_prefix; /* for crypt_gensalt; NULL: no generation */
	unsigned long rounds;     /* 0: libxcrypt's default */
};

/* Dovecot names; prefixes as libxcrypt's crypt(5) lists them. */
static const struct password_scheme password_schemes[] = {
	{ "SHA512-CRYPT", "$6$", 0 },
	{ "SHA256-CRYPT", "$5$", 0 },
	{ "BLF-CRYPT", "$2y$", 0 },
	{ "MD5-CRYPT", "$1$", 0 },
	{ "CRYPT", "$6$", 0 },  /* {CRYPT} verifies any crypt hash */
	{ "PLAIN", NULL, 0 },
};

static const struct password_scheme *
password_scheme_find(const char *name, size_t len)
{
	for (size_t i = 0; i < N_ELEMENTS(password_schemes); i++) {
		const char *n = password_schemes[i].name;
		if (strlen(n) == len && strncasecmp(n, name, len) == 0)
			return &password_schemes[i];
	}
	return NULL;
}

bool
password_scheme_is_known(const char *scheme)
{
	return password_scheme_find(scheme, strlen(scheme)) != NULL;
}

/* Compares without an early exit; the lengths may differ (that is not
 * secret: hashes have fixed lengths). */
static bool
password_equal(const char *a, const char *b)
{
	size_t alen = strlen(a), blen = strlen(b);
	unsigned char diff = alen != blen;
	size_t n = alen < blen ? alen : blen;
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)a[i] ^ (unsigned char)b[i];
	return diff == 0;
}

static int
password_crypt_verify(const char *hash, const char *password,
	const char **error_r)
{
	if (hash[0] == '\0') {
		*error_r = "empty hash";
		return -1;
	}
	struct crypt_data *data = xcalloc(1, sizeof(*data));
	int ret;
	const char *out = crypt_rn(password, hash, data, sizeof(*data));
	/* libxcrypt returns NULL or a string starting with '*' on a
	 * malformed setting */
	if (out == NULL || out[0] == '*') {
		*error_r = "malformed or unsupported crypt hash";
		ret = -1;
	} else {
		ret = password_equal(out, hash) ? 1 : 0;
	}
	explicit_bzero(data, sizeof(*data));
	free(data);
	return ret;
}

int
password_verify(const char *stored, const char *password,
	const char **error_r)
{
	const struct password_scheme *scheme;
	const char *data = stored;

	if (stored[0] == '{') {
		const char *end = strchr(stored, '}');
		if (end == NULL) {
			*error_r = "unterminated {SCHEME} prefix";
			return -1;
		}
		scheme = password_scheme_find(stored + 1, end - stored - 1);
		if (scheme == NULL) {
			*error_r = "unknown password scheme";
			return -1;
		}
		data = end + 1;
	} else {
		/* Dovecot: no prefix means the default scheme CRYPT */
		scheme = password_scheme_find("CRYPT", 5);
	}
	if (strcmp(scheme->name, "PLAIN") == 0)
		return password_equal(data, password) ? 1 : 0;
	/* {SHA512-CRYPT} etc. must hold that kind of hash ($2a$/$2b$/$2y$
	 * all count as BLF-CRYPT); {CRYPT} takes any */
	if (strcmp(scheme->name, "CRYPT") != 0) {
		size_t plen = strcmp(scheme->name, "BLF-CRYPT") == 0 ? 2 :
			strlen(scheme->crypt_prefix);
		if (strncmp(data, scheme->crypt_prefix, plen) != 0) {
			*error_r = "hash does not match its {SCHEME}";
			return -1;
		}
	}
	return password_crypt_verify(data, password, error_r);
}

char *
password_hash(const char *scheme_name, const char *password,
	const char **error_r)
{
	const struct password_scheme *scheme =
		password_scheme_find(scheme_name, strlen(scheme_name));
	if (scheme == NULL) {
		*error_r = "unknown password scheme";
		return NULL;
	}
	if (scheme->crypt_prefix == NULL)
		return xasprintf("{%s}%s", scheme->name, password);

	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	if (crypt_gensalt_rn(scheme->crypt_prefix, scheme->rounds, NULL, 0,
	    salt, sizeof(salt)) == NULL) {
		*error_r = "crypt_gensalt failed (no randomness?)";
		return NULL;
	}
	struct crypt_data *data = xcalloc(1, sizeof(*data));
	const char *out = crypt_rn(password, salt, data, sizeof(*data));
	char *ret = NULL;
	if (out == NULL || out[0] == '*')
		*error_r = "crypt failed";
	else
		ret = xasprintf("{%s}%s", scheme->name, out);
	explicit_bzero(data, sizeof(*data));
	free(data);
	return ret;
}

void
password_dummy_verify(const char *password)
{
	/* a SHA512-CRYPT setting with the default rounds: same cost as a
	 * real default-scheme check */
	struct crypt_data *data = xcalloc(1, sizeof(*data));
	(void)crypt_rn(password, "$6$postierdummysalt$", data, sizeof(*data));
	explicit_bzero(data, sizeof(*data));
	free(data);
}
