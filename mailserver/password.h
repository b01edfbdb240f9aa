/* password.h: Dovecot-compatible password schemes.
 *
 * A stored password is "{SCHEME}data" or, without a prefix, a crypt(3) hash
 * (treated as {CRYPT}). Schemes: SHA512-CRYPT ($6$), SHA256-CRYPT ($5$),
 * BLF-CRYPT ($2y$), MD5-CRYPT ($1$), CRYPT (whatever libcrypt recognises) and
 * PLAIN (tests, migrations). All hashing goes through libxcrypt's reentrant
 * crypt_rn()/crypt_gensalt_rn(). Everything here may block for milliseconds
 * (that is the point of a slow hash): call it from worker threads. Other
 * Dovecot schemes ({SSHA}, {PLAIN-MD5}, ...) are refused, not guessed. */
#ifndef MAILSERVER_PASSWORD_H
#define MAILSERVER_PASSWORD_H

#include "postier.h"

/* Checks password against stored. Returns 1 when it matches, 0 when it does
 * not, -1 when stored is unusable (unknown scheme, malformed hash: logged by
 * the caller with *error_r, a static string). Constant-time compare. */
int password_verify(const char *stored, const char *password,
	const char **error_r);

/* Hashes password with scheme ("SHA512-CRYPT", ..., case-insensitive) and a
 * fresh random salt. Returns a heap string "{SCHEME}hash" (the caller frees
 * it), or NULL with *error_r (static) for an unknown scheme. */
char *password_hash(const char *scheme, const char *password,
	const char **error_r);

/* True if scheme names one password_hash() can produce. */
bool password_scheme_is_known(const char *scheme);

/* Burns about the time of one verification of a default-scheme hash (used
 * for unknown users, so timing does not reveal which addresses exist). */
void password_dummy_verify(const char *password);

#endif
