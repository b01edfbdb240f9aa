/* mailcheck.h: what check_postier_smtp, _imap, _pop3 and _roundtrip share
 * on top of plugin.h: TLS mode, credentials from a file, --expect,
 * required capabilities, certificate checks (days left, name, chain) and
 * the final status line with the step timings of lib/client. The protocol
 * dialogue itself goes through lib/client's synchronous API (client/sync.h):
 * there is one client implementation in Postier.
 *
 * Verdicts, as monitoring-plugins' check_smtp/check_imap give them: no
 * answer, a refused connection, a garbage or negative greeting, a failed
 * TLS handshake or login: CRITICAL; an answer that is not the expected one
 * (--expect, a missing --capability): WARNING; a timeout: the -t state. */
#ifndef MAILCHECK_H
#define MAILCHECK_H

#include <stdbool.h>
#include <openssl/ssl.h>
#include "postier.h"
#include "core/buf.h"
#include "client/client.h"
#include "plugin.h"

#define MAILCHECK_MAX_CAPAS 16

enum {
	MAILCHECK_OPT_TLS = 'T',
	MAILCHECK_OPT_AUTHFILE = 'a',
	MAILCHECK_OPT_EXPECT = 'e',
	MAILCHECK_OPT_CAPA = 'C',
	MAILCHECK_OPT_CERT_DAYS = 'D',
	MAILCHECK_OPT_STARTTLS = 5000,
	MAILCHECK_OPT_SSL,
	MAILCHECK_OPT_CA_FILE,
	MAILCHECK_OPT_SERVERNAME,
	MAILCHECK_OPT_IGNORE_NAME,
};

struct mailcheck {
	struct plugin *p;
	enum client_tls tls;
	const char *authfile;
	char *user, *password;   /* from authfile; password wiped on exit */
	const char *expect;
	const char *capas[MAILCHECK_MAX_CAPAS];
	size_t n_capas;
	bool check_days;
	long cert_warn_days, cert_crit_days;
	const char *ca_file;
	const char *server_name; /* name the certificate must carry */
	bool ignore_name;
	SSL_CTX *ssl_ctx;
	struct client_opts opts;

	/* findings so far: the worst state and the text parts */
	enum plugin_state state;
	struct buf text;
	int64_t start_us;

	/* the open session, closed by mailcheck_close() on every exit */
	void (*close_session)(void *session);
	void *session;
	/* a second context the plugin owns (roundtrip) */
	void (*cleanup)(void *context);
	void *cleanup_context;
};

/* The options above, for plugin_parse_args() (append the plugin's own). */
extern const struct plugin_option mailcheck_options[];
extern const size_t mailcheck_n_options;

/* Makes m ready and hooks its cleanup into p. */
void mailcheck_init(struct mailcheck *m, struct plugin *p);
/* Handles one of the MAILCHECK_OPT_* keys: returns 1, or 0 when key is not
 * one of them. A bad value is a usage error (exits UNKNOWN). */
int mailcheck_option(struct mailcheck *m, int key, const char *arg);
/* After parsing: checks -H, picks the port (plain_port, or implicit_port
 * with implicit TLS), reads the credentials, makes the TLS context, fills
 * m->opts. Usage problems exit UNKNOWN. Starts the -t timer and the clock. */
void mailcheck_setup(struct mailcheck *m, int plain_port, int implicit_port);

/* Reads "username=..." and "password=..." lines ('#' comments, blank
 * lines allowed). Returns 0, or -1 with a static reason in *error_r. May
 * block (file read). */
int mailcheck_read_authfile(const char *path, char **user_r,
	char **password_r, const char **error_r);

/* Step timeout for lib/client: a little more than what is left of -t, so
 * that the -t timer, which reports the -t state, always fires first. */
int mailcheck_step_timeout_ms(const struct mailcheck *m);

/* A step failed: result CLIENT_ERROR (error says why) or CLIENT_NEGATIVE
 * (reply is the server's answer). Exits CRITICAL (the -t state when the
 * client timed out). */
void mailcheck_fail(struct mailcheck *m, const char *step, int result,
	const char *error, const char *reply) ATTR_NORETURN;
/* --expect against the greeting text (WARNING when absent). */
void mailcheck_expect(struct mailcheck *m, const char *greeting);
/* Every --capability must satisfy has(session, name) (WARNING if not). */
void mailcheck_capas(struct mailcheck *m,
	bool (*has)(const void *session, const char *capa),
	const void *session);
/* Certificate checks on a finished handshake (days, name, chain). */
void mailcheck_cert(struct mailcheck *m, SSL *ssl);
/* Adds a finding: raises the state, appends text (", " separated). */
void mailcheck_note(struct mailcheck *m, enum plugin_state state,
	const char *fmt, ...) ATTR_PRINTF(3, 4);
/* Adds the timing perfdata, checks the total time against -w/-c and exits
 * with the worst state: `summary, TIME s[, findings]`. Takes ownership of
 * summary (heap). */
void mailcheck_finish(struct mailcheck *m, const struct client_timing *t,
	char *summary) ATTR_NORETURN;

#endif
