/* directory.h: who the users are, behind one interface.
 *
 * Back-ends: passwd-file (the embedded default: Dovecot-compatible lines
 * `user@domain:{SCHEME}hash:uid:gid::home::extra`), MySQL later. Every answer
 * is found / not found / could not tell, and "could not tell" is never folded
 * into "not found": callers turn it into a temporary failure (SMTP 451 4.3.0,
 * IMAP NO [UNAVAILABLE], POP3 -ERR [SYS/TEMP]).
 *
 * Look-ups and password checks may block (hashing costs milliseconds, MySQL
 * does I/O): loops use the _async variants, which run on the worker pool and
 * call back on the connection's loop (never before returning). */
#ifndef MAILSERVER_DIRECTORY_H
#define MAILSERVER_DIRECTORY_H

#include <sys/types.h>
#include "postier.h"

struct conn;
struct postierd_settings;

struct directory_user {
	char *address;  /* canonical user@domain, lower-case domain */
	char *home;     /* may be NULL */
	uid_t uid;      /* (uid_t)-1 when not given */
	gid_t gid;
	char *maildir;  /* mail_location expanded for this user: the Maildir root */
};

enum directory_result {
	DIRECTORY_FOUND = 1,
	DIRECTORY_NOT_FOUND = 0,
	DIRECTORY_ERROR = -1,
};

/* Opens the configured directory (reads the passwd-file). Returns 0 or -1
 * with *error_r. Called at start-up and on SIGHUP (a reload that fails keeps
 * the old directory and logs why). Blocks. */
int directory_init(const struct postierd_settings *set, char **error_r);
int directory_reload(const struct postierd_settings *set, char **error_r);
void directory_deinit(void);

/* Blocking look-up (workers, tools, tests). *user_r is a new object the
 * caller frees with directory_user_free(). */
enum directory_result directory_lookup(const char *address,
	struct directory_user **user_r);
/* Blocking password check: FOUND only when the user exists and the password
 * matches; NOT_FOUND for unknown user or wrong password. */
enum directory_result directory_authenticate(const char *address,
	const char *password, struct directory_user **user_r);
/* Whether mail for this domain is ours (served by the directory or listed in
 * smtp.local_domains). Blocking, fast for passwd-file. */
enum directory_result directory_is_local_domain(const char *domain);

void directory_user_free(struct directory_user **user);

/* Async forms for loop threads: cb runs later on c's loop, with c NULL if the
 * connection closed (then only free). user (may be NULL) passes to cb, which
 * owns it. address and password are copied (the password copy is wiped). */
typedef void directory_cb(struct conn *c, enum directory_result result,
	struct directory_user *user, void *context);
void directory_lookup_async(struct conn *c, const char *address,
	directory_cb *cb, void *context);
void directory_authenticate_async(struct conn *c, const char *address,
	const char *password, directory_cb *cb, void *context);

#endif
