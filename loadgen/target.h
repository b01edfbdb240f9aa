/* target.h: the servers to load (target.ini, written by scripts/dev-server or
 * by hand; see docs/loadgen.md). Unknown keys are ignored so the file can
 * grow; a missing service section means the service is not used. Also reads
 * the users file (address:password lines). */
#ifndef LOADGEN_TARGET_H
#define LOADGEN_TARGET_H

#include "postier.h"
#include "client/client.h"

enum target_service {
	TARGET_SMTP,
	TARGET_SUBMISSION,
	TARGET_SUBMISSIONS,
	TARGET_POP3,
	TARGET_POP3S,
	TARGET_IMAP,
	TARGET_IMAPS,
	TARGET_SERVICE_COUNT,
};

struct target_endpoint {
	bool present;
	char *host;
	unsigned int port;
	enum client_tls tls;
};

struct target_user {
	char *address;
	char *password;
};

struct target {
	char *path;
	char *name;
	char *ca_file;
	char *users_file;
	char *passwd_file;
	char *reload_command;
	struct target_endpoint ep[TARGET_SERVICE_COUNT];
	struct target_user *users;
	size_t n_users;
};

/* Reads path (and not yet the users). Returns 0, or -1 with *error_r (heap,
 * one line). Blocks on file I/O. */
int target_load(struct target *t, const char *path, char **error_r);
/* (Re)reads t->users_file into t->users. A missing file gives 0 users.
 * Returns 0 or -1 (*error_r heap). */
int target_load_users(struct target *t, char **error_r);
void target_free(struct target *t);
const char *target_service_name(enum target_service s);
/* Fills opts for a service (borrowing t's strings). Returns false when the
 * target does not have it. */
bool target_client_opts(const struct target *t, enum target_service s,
	struct client_opts *opts_r);

#endif
