/* settings.h: postierd's effective configuration.
 *
 * One struct, filled from one table (settings.c, the only reader of keys).
 * A settings object is immutable once loaded: SIGHUP loads a new one and new
 * sessions see it; running sessions keep the one they started with
 * (settings_ref()/settings_unref()). docs/configuration.md documents every
 * key. To add a key: a field here, a row in settings.c, a line in the doc. */
#ifndef MAILSERVER_SETTINGS_H
#define MAILSERVER_SETTINGS_H

#include <stdint.h>
#include "postier.h"
#include "core/buf.h"
#include "core/cfg.h"

enum settings_log_target {
	SETTINGS_LOG_STDERR,
	SETTINGS_LOG_SYSLOG,
	SETTINGS_LOG_FILE,
};

struct postierd_settings {
	/* [server] */
	char *hostname;            /* banner, Received, DSNs; default: gethostname() */
	long long threads;         /* event-loop threads; 0 = one per core */
	char *user;                /* run as this user after binding, when root */
	char *group;
	char *pid_file;            /* written by -d (and when set) */
	char *data_dir;            /* spool lives in DATA_DIR/queue */
	int log_target;            /* enum settings_log_target */
	char *log_file;            /* with log_target = file */
	char *log_level;           /* debug | info | warn | error */
	long long drain_timeout_ms; /* SIGTERM: finish transactions this long */

	/* [listen]: "host:port" or "[v6]:port"; empty disables the listener */
	char *listen_smtp;
	char *listen_submission;
	char *listen_submissions;
	char *listen_pop3;
	char *listen_pop3s;
	char *listen_imap;
	char *listen_imaps;
	char *listen_admin;

	/* [tls] */
	char *tls_cert_file;       /* PEM chain; empty: no STARTTLS, no implicit TLS */
	char *tls_key_file;
	char *tls_min_version;     /* TLSv1.2 | TLSv1.3 */
	char *tls_ciphers;         /* OpenSSL cipher list for TLS <= 1.2; empty: default */

	/* [limits] */
	long long max_connections;        /* whole server; 421 4.7.0 beyond */
	long long max_connections_per_ip; /* one address; 421 4.7.0 beyond */
	long long auth_ban_failures;      /* failed logins that ban an address; 0 disables */
	long long auth_ban_window_ms;     /* ... within this window */
	long long auth_ban_time_ms;       /* ban length */

	/* [smtp] */
	uint64_t smtp_max_message_size;   /* SIZE; 552 5.3.4 beyond */
	long long smtp_max_recipients;    /* per transaction; 452 4.5.3 beyond */
	long long smtp_max_line_bytes;    /* command line and text line, CRLF included */
	long long smtp_timeout_command_ms;   /* RFC 5321 4.5.3.2: >= 5 min */
	long long smtp_timeout_data_block_ms; /* 3 min */
	long long smtp_timeout_data_term_ms;  /* 10 min */
	bool smtp_plaintext_auth;         /* allow AUTH before TLS */
	struct cfg_list smtp_local_domains; /* empty: the directory's domains */
	long long smtp_max_errors;        /* bad commands before 421 and close */

	/* [queue] */
	long long queue_commit_max_batch; /* messages per group commit at most */
	long long queue_delivery_workers; /* delivery threads */
	long long queue_retry_min_ms;     /* first retry of a failed delivery */
	long long queue_retry_max_ms;     /* backoff cap */
	long long queue_max_lifetime_ms;  /* then a DSN bounce */

	/* [directory] */
	int directory_driver;             /* 0 = passwd-file (more later) */
	char *directory_passwd_file;
	long long directory_workers;      /* threads for look-ups and password checks */

	/* [mail] */
	char *mail_location;  /* Dovecot syntax: maildir:~/Maildir, maildir:/vmail/%d/%n/Maildir */

	/* [pop3] */
	long long pop3_timeout_ms;
	bool pop3_plaintext_auth;

	/* [imap] */
	long long imap_timeout_ms;        /* RFC 3501 5.4: >= 30 min */
	bool imap_plaintext_auth;
	long long imap_max_line_bytes;
	uint64_t imap_max_literal_size;

	/* [admin] */
	char *admin_token;    /* bearer token; required when listen.admin is not loopback */

	/* bookkeeping, not configuration */
	char *config_path;
	int refcount;
};

extern const struct cfg_def settings_defs[];
extern const size_t settings_defs_count;

/* Loads path. Returns a new settings object (refcount 1), or NULL with
 * *error_r "PATH:LINE: message" (heap). Blocks on file I/O. */
struct postierd_settings *settings_load(const char *path, char **error_r);
/* SIGHUP: copies into set the values of old for every key that needs a
 * restart, so the running server keeps describing what it really does. */
void settings_keep_restart_keys(struct postierd_settings *set,
	const struct postierd_settings *old);
/* Appends the effective configuration as INI (for -n). */
void settings_print(const struct postierd_settings *set, struct buf *out);
/* Reference counting across threads (atomic). */
struct postierd_settings *settings_ref(struct postierd_settings *set);
void settings_unref(struct postierd_settings **set);

/* The current settings (the newest loaded); borrowed, valid while the caller's
 * loop iteration runs. settings_current_ref() gives a reference to keep. */
struct postierd_settings *settings_current(void);
struct postierd_settings *settings_current_ref(void);
/* Installs set as current (takes ownership of the caller's reference). */
void settings_set_current(struct postierd_settings *set);
/* Releases the current and every retired settings object (at exit). */
void settings_deinit(void);

/* Splits a listen value "host:port" or "[v6]:port". Returns 0 (host_r heap,
 * may be NULL to only check) or -1 when malformed. */
int settings_parse_listen(const char *value, char **host_r, int *port_r);
/* Whether host (a listen host) is a loopback address or "localhost". */
bool settings_is_loopback(const char *host);

#endif
