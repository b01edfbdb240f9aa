/* settings.c: postierd's one table of settings, loading, validation and the
 * shared "current settings" pointer.
 *
 * Every key postierd reads is a row of settings_defs[]; nothing else parses
 * the configuration. Checks that span keys (certificate without key, admin
 * token off loopback, listen address syntax) run after the table has loaded
 * and report the line of the offending key. */
#include "postier.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cfg.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "settings.h"

#define S(field) CFG_FIELD(struct postierd_settings, field)
#define KIB 1024LL
#define MIB (1024LL * 1024)
#define GIB (1024LL * 1024 * 1024)
#define SEC 1000LL
#define MINUTE (60 * SEC)
#define HOUR (60 * MINUTE)
#define DAY (24 * HOUR)

static const char *const settings_log_targets[] = {
	"stderr", "syslog", "file", NULL
};
static const char *const settings_directory_drivers[] = {
	"passwd-file", NULL
};

/* section, key, type, default, min, max, reloadable, field, help */
const struct cfg_def settings_defs[] = {
	{ "server", "hostname", CFG_TYPE_STR, "", 0, 0, true, S(hostname),
		"name in the banner, Received headers and DSNs (empty: the system host name)", NULL },
	{ "server", "threads", CFG_TYPE_INT, "0", 0, 256, false, S(threads),
		"event-loop threads (0: one per core)", NULL },
	{ "server", "user", CFG_TYPE_STR, "", 0, 0, false, S(user),
		"run as this user after binding the ports, when started as root", NULL },
	{ "server", "group", CFG_TYPE_STR, "", 0, 0, false, S(group),
		"run as this group (empty: the user's primary group)", NULL },
	{ "server", "pid_file", CFG_TYPE_STR, "", 0, 0, false, S(pid_file),
		"pid file, written at start-up when set (and always with -d)", NULL },
	{ "server", "data_dir", CFG_TYPE_STR, "/var/lib/postier", 0, 0, false, S(data_dir),
		"data directory; the spool lives in DATA_DIR/queue", NULL },
	{ "server", "log_target", CFG_TYPE_ENUM, "stderr", 0, 0, true, S(log_target),
		"where log lines go: stderr, syslog (facility mail) or file", settings_log_targets },
	{ "server", "log_file", CFG_TYPE_STR, "", 0, 0, true, S(log_file),
		"log file with log_target = file (reopened on SIGHUP)", NULL },
	{ "server", "log_level", CFG_TYPE_STR, "info", 0, 0, true, S(log_level),
		"least severe level logged: debug, info, warn or error", NULL },
	{ "server", "drain_timeout", CFG_TYPE_DURATION, "30s", 0, 1 * HOUR, true, S(drain_timeout_ms),
		"SIGTERM: how long running transactions may take to finish", NULL },

	{ "listen", "smtp", CFG_TYPE_STR, "127.0.0.1:2525", 0, 0, false, S(listen_smtp),
		"SMTP (port 25 role) host:port; empty disables", NULL },
	{ "listen", "submission", CFG_TYPE_STR, "127.0.0.1:2587", 0, 0, false, S(listen_submission),
		"submission (port 587 role, RFC 6409, AUTH required) host:port", NULL },
	{ "listen", "submissions", CFG_TYPE_STR, "127.0.0.1:2465", 0, 0, false, S(listen_submissions),
		"submissions (port 465 role, implicit TLS, RFC 8314) host:port", NULL },
	{ "listen", "pop3", CFG_TYPE_STR, "127.0.0.1:2110", 0, 0, false, S(listen_pop3),
		"POP3 host:port", NULL },
	{ "listen", "pop3s", CFG_TYPE_STR, "127.0.0.1:2995", 0, 0, false, S(listen_pop3s),
		"POP3 over implicit TLS host:port", NULL },
	{ "listen", "imap", CFG_TYPE_STR, "127.0.0.1:2143", 0, 0, false, S(listen_imap),
		"IMAP host:port", NULL },
	{ "listen", "imaps", CFG_TYPE_STR, "127.0.0.1:2993", 0, 0, false, S(listen_imaps),
		"IMAP over implicit TLS host:port", NULL },
	{ "listen", "admin", CFG_TYPE_STR, "127.0.0.1:2080", 0, 0, false, S(listen_admin),
		"admin HTTP (/metrics, /health, /status) host:port; off loopback admin.token is required", NULL },

	{ "tls", "cert_file", CFG_TYPE_STR, "", 0, 0, true, S(tls_cert_file),
		"PEM certificate chain (empty: no STARTTLS, implicit-TLS listeners not opened)", NULL },
	{ "tls", "key_file", CFG_TYPE_STR, "", 0, 0, true, S(tls_key_file),
		"PEM private key of cert_file", NULL },
	{ "tls", "min_version", CFG_TYPE_STR, "TLSv1.2", 0, 0, true, S(tls_min_version),
		"oldest protocol accepted: TLSv1.2 or TLSv1.3", NULL },
	{ "tls", "ciphers", CFG_TYPE_STR, "", 0, 0, true, S(tls_ciphers),
		"OpenSSL cipher list for TLS 1.2 (empty: OpenSSL's default)", NULL },

	{ "limits", "max_connections", CFG_TYPE_INT, "10000", 1, 1000000, true, S(max_connections),
		"connections open at once, whole server; beyond: 421 4.7.0", NULL },
	{ "limits", "max_connections_per_ip", CFG_TYPE_INT, "100", 0, 1000000, true, S(max_connections_per_ip),
		"connections open at once from one address (0: no limit); beyond: 421 4.7.0", NULL },
	{ "limits", "auth_ban_failures", CFG_TYPE_INT, "6", 0, 1000000, true, S(auth_ban_failures),
		"failed logins from one address that ban it (0: no ban)", NULL },
	{ "limits", "auth_ban_window", CFG_TYPE_DURATION, "10m", 1 * SEC, 1 * DAY, true, S(auth_ban_window_ms),
		"... counted within this window", NULL },
	{ "limits", "auth_ban_time", CFG_TYPE_DURATION, "60s", 0, 1 * DAY, true, S(auth_ban_time_ms),
		"how long a banned address is refused (0: no ban)", NULL },

	{ "smtp", "max_message_size", CFG_TYPE_SIZE, "35M", 1 * KIB, 2 * GIB, true, S(smtp_max_message_size),
		"largest message accepted (SIZE, RFC 1870); beyond: 552 5.3.4", NULL },
	{ "smtp", "max_recipients", CFG_TYPE_INT, "100", 1, 100000, true, S(smtp_max_recipients),
		"recipients per transaction (RFC 5321 4.5.3.1.8 minimum 100); beyond: 452 4.5.3", NULL },
	{ "smtp", "max_line_bytes", CFG_TYPE_INT, "1000", 512, 65536, true, S(smtp_max_line_bytes),
		"longest command or text line, CRLF included (RFC 5321 4.5.3.1.4/6: 512/1000)", NULL },
	{ "smtp", "timeout_command", CFG_TYPE_DURATION, "5m", 100, 1 * HOUR, true, S(smtp_timeout_command_ms),
		"wait for the next command (RFC 5321 4.5.3.2.7: 5 min)", NULL },
	{ "smtp", "timeout_data_block", CFG_TYPE_DURATION, "3m", 100, 1 * HOUR, true, S(smtp_timeout_data_block_ms),
		"wait for the next piece of DATA (RFC 5321 4.5.3.2.5: 3 min)", NULL },
	{ "smtp", "timeout_data_term", CFG_TYPE_DURATION, "10m", 100, 1 * HOUR, true, S(smtp_timeout_data_term_ms),
		"the client waits this long for the reply to the final dot (RFC 5321 4.5.3.2.6: 10 min)", NULL },
	{ "smtp", "plaintext_auth", CFG_TYPE_BOOL, "no", 0, 0, true, S(smtp_plaintext_auth),
		"allow AUTH before TLS", NULL },
	{ "smtp", "local_domains", CFG_TYPE_LIST, "", 0, 0, true, S(smtp_local_domains),
		"domains delivered here, one per line (none: the directory's domains)", NULL },
	{ "smtp", "max_errors", CFG_TYPE_INT, "20", 1, 1000, true, S(smtp_max_errors),
		"bad commands in one session before 421 and close", NULL },

	{ "queue", "commit_max_batch", CFG_TYPE_INT, "256", 1, 65536, false, S(queue_commit_max_batch),
		"messages covered by one group commit at most", NULL },
	{ "queue", "delivery_workers", CFG_TYPE_INT, "2", 1, 256, false, S(queue_delivery_workers),
		"delivery threads", NULL },
	{ "queue", "retry_min", CFG_TYPE_DURATION, "1m", 100, 1 * DAY, true, S(queue_retry_min_ms),
		"first retry of a failed delivery", NULL },
	{ "queue", "retry_max", CFG_TYPE_DURATION, "1h", 100, 7 * DAY, true, S(queue_retry_max_ms),
		"longest wait between two retries (backoff cap)", NULL },
	{ "queue", "max_lifetime", CFG_TYPE_DURATION, "5d", 1 * SEC, 60 * DAY, true, S(queue_max_lifetime_ms),
		"after this long undeliverable mail is bounced (DSN)", NULL },

	{ "directory", "driver", CFG_TYPE_ENUM, "passwd-file", 0, 0, false, S(directory_driver),
		"user directory back-end: passwd-file", settings_directory_drivers },
	{ "directory", "passwd_file", CFG_TYPE_STR, "/etc/postier/passwd", 0, 0, true, S(directory_passwd_file),
		"Dovecot-compatible passwd-file (user@domain:{SCHEME}hash:uid:gid::home::extra); re-read on SIGHUP", NULL },
	{ "directory", "workers", CFG_TYPE_INT, "4", 1, 256, false, S(directory_workers),
		"worker threads for look-ups, password checks and other blocking work", NULL },

	{ "mail", "location", CFG_TYPE_STR, "maildir:~/Maildir", 0, 0, true, S(mail_location),
		"mailbox location in Dovecot syntax (maildir:~/Maildir, maildir:/var/vmail/%d/%n/Maildir)", NULL },

	{ "pop3", "timeout", CFG_TYPE_DURATION, "10m", 100, 1 * DAY, true, S(pop3_timeout_ms),
		"idle timeout (RFC 1939 3: at least 10 min)", NULL },
	{ "pop3", "plaintext_auth", CFG_TYPE_BOOL, "no", 0, 0, true, S(pop3_plaintext_auth),
		"allow USER/PASS and AUTH before TLS", NULL },

	{ "imap", "timeout", CFG_TYPE_DURATION, "30m", 100, 1 * DAY, true, S(imap_timeout_ms),
		"idle timeout (RFC 3501 5.4: at least 30 min)", NULL },
	{ "imap", "plaintext_auth", CFG_TYPE_BOOL, "no", 0, 0, true, S(imap_plaintext_auth),
		"allow LOGIN and AUTHENTICATE before TLS", NULL },
	{ "imap", "max_line_bytes", CFG_TYPE_INT, "65536", 1000, 16777216, true, S(imap_max_line_bytes),
		"longest command line, literals excluded", NULL },
	{ "imap", "max_literal_size", CFG_TYPE_SIZE, "50M", 1 * KIB, 2 * GIB, true, S(imap_max_literal_size),
		"largest literal (APPEND message) accepted", NULL },

	{ "admin", "token", CFG_TYPE_STR, "", 0, 0, true, S(admin_token),
		"bearer token for the admin endpoint; required when listen.admin is not loopback", NULL },
};
const size_t settings_defs_count = N_ELEMENTS(settings_defs);

static pthread_mutex_t settings_lock = PTHREAD_MUTEX_INITIALIZER;
static struct postierd_settings *settings_cur;
/* Settings replaced by a reload: loops may still hold borrowed pointers
 * from settings_current() for the rest of an iteration, so they are freed
 * only at exit (reloads are rare and a settings object is small). */
static struct postierd_settings **settings_retired;
static size_t settings_retired_count;

/* --- validation after the table has loaded --- */

struct settings_line_ctx {
	const char *section;
	const char *key;
	unsigned line;
};

static int
settings_line_item(const struct ini_item *item, void *context)
{
	struct settings_line_ctx *ctx = context;
	if (item->kind == INI_ITEM_KEY && ctx->line == 0 &&
		strcmp(item->section, ctx->section) == 0 &&
		strcmp(item->key, ctx->key) == 0)
		ctx->line = item->line;
	return 0;
}

/* Line of [section] key in path, 0 when the key is not in the file. */
static unsigned
settings_key_line(const char *path, const char *section, const char *key)
{
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return 0;
	struct settings_line_ctx ctx = { .section = section, .key = key };
	struct ini_reader r;
	ini_reader_init(&r, settings_line_item, &ctx);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (ini_reader_feed(&r, chunk, n) < 0)
			break;
	}
	(void)ini_reader_finish(&r);
	ini_reader_clear(&r);
	fclose(f);
	return ctx.line;
}

/* Formats a validation error as "PATH:LINE: message" (line of the key, or
 * "PATH: [section] key: message" when the key came from the defaults). */
static char *
settings_error(const char *path, const char *section, const char *key,
	const char *msg)
{
	unsigned line = settings_key_line(path, section, key);
	if (line > 0)
		return xasprintf("%s:%u: %s: %s", path, line, key, msg);
	return xasprintf("%s: [%s] %s: %s", path, section, key, msg);
}

int
settings_parse_listen(const char *value, char **host_r, int *port_r)
{
	const char *host, *colon;
	size_t host_len;

	if (value[0] == '[') {
		const char *end = strchr(value, ']');
		if (end == NULL || end[1] != ':')
			return -1;
		host = value + 1;
		host_len = (size_t)(end - host);
		colon = end + 1;
	} else {
		colon = strrchr(value, ':');
		if (colon == NULL || memchr(value, ':', (size_t)(colon - value)))
			return -1;
		host = value;
		host_len = (size_t)(colon - value);
	}
	long long port;
	if (host_len == 0 || cfg_parse_int(colon + 1, &port) < 0 ||
		port < 0 || port > 65535)
		return -1;
	if (host_r != NULL)
		*host_r = xstrndup(host, host_len);
	if (port_r != NULL)
		*port_r = (int)port;
	return 0;
}

bool
settings_is_loopback(const char *host)
{
	return strcmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 ||
		strcmp(host, "::1") == 0;
}

static int
settings_validate(struct postierd_settings *set, const char *path,
	char **error_r)
{
	static const struct {
		const char *key;
		size_t offset;
	} listens[] = {
		{ "smtp", S(listen_smtp) }, { "submission", S(listen_submission) },
		{ "submissions", S(listen_submissions) }, { "pop3", S(listen_pop3) },
		{ "pop3s", S(listen_pop3s) }, { "imap", S(listen_imap) },
		{ "imaps", S(listen_imaps) }, { "admin", S(listen_admin) },
	};
	enum log_level level;

	if (log_level_parse(set->log_level != NULL ? set->log_level : "",
		&level) < 0) {
		*error_r = settings_error(path, "server", "log_level",
			"expected debug, info, warn or error");
		return -1;
	}
	if (set->log_target == SETTINGS_LOG_FILE && set->log_file == NULL) {
		*error_r = settings_error(path, "server", "log_target",
			"log_target = file needs log_file");
		return -1;
	}
	if (set->data_dir == NULL || set->data_dir[0] != '/') {
		*error_r = settings_error(path, "server", "data_dir",
			"must be an absolute path");
		return -1;
	}
	for (size_t i = 0; i < N_ELEMENTS(listens); i++) {
		const char *v = *(char **)((char *)set + listens[i].offset);
		if (v != NULL && settings_parse_listen(v, NULL, NULL) < 0) {
			char *msg = xasprintf("expected host:port or [v6]:port, "
				"got %s", v);
			*error_r = settings_error(path, "listen", listens[i].key, msg);
			free(msg);
			return -1;
		}
	}
	if ((set->tls_cert_file == NULL) != (set->tls_key_file == NULL)) {
		*error_r = settings_error(path, "tls",
			set->tls_cert_file == NULL ? "key_file" : "cert_file",
			"cert_file and key_file go together");
		return -1;
	}
	if (strcmp(set->tls_min_version, "TLSv1.2") != 0 &&
		strcmp(set->tls_min_version, "TLSv1.3") != 0) {
		*error_r = settings_error(path, "tls", "min_version",
			"expected TLSv1.2 or TLSv1.3");
		return -1;
	}
	if (set->listen_admin != NULL) {
		char *host;
		PASSERT(settings_parse_listen(set->listen_admin, &host, NULL) == 0);
		bool loopback = settings_is_loopback(host);
		free(host);
		if (!loopback && set->admin_token == NULL) {
			*error_r = settings_error(path, "listen", "admin",
				"not a loopback address: set admin.token");
			return -1;
		}
	}
	if (set->directory_passwd_file == NULL) {
		*error_r = settings_error(path, "directory", "passwd_file",
			"required with driver = passwd-file");
		return -1;
	}
	if (set->mail_location == NULL ||
		strncmp(set->mail_location, "maildir:", 8) != 0) {
		*error_r = settings_error(path, "mail", "location",
			"expected maildir:PATH (Dovecot syntax)");
		return -1;
	}
	if (set->queue_retry_max_ms < set->queue_retry_min_ms) {
		*error_r = settings_error(path, "queue", "retry_max",
			"must not be shorter than retry_min");
		return -1;
	}
	if (set->hostname == NULL) {
		char name[256];
		if (gethostname(name, sizeof(name)) < 0 || name[0] == '\0')
			snprintf(name, sizeof(name), "localhost");
		name[sizeof(name) - 1] = '\0';
		set->hostname = xstrdup(name);
	}
	return 0;
}

struct postierd_settings *
settings_load(const char *path, char **error_r)
{
	struct postierd_settings *set = xcalloc(1, sizeof(*set));
	if (cfg_load_file(settings_defs, settings_defs_count, set, path,
		error_r) < 0 || settings_validate(set, path, error_r) < 0) {
		cfg_free(settings_defs, settings_defs_count, set);
		free(set);
		return NULL;
	}
	char *abs = realpath(path, NULL);
	set->config_path = abs != NULL ? abs : xstrdup(path);
	set->refcount = 1;
	return set;
}

void
settings_keep_restart_keys(struct postierd_settings *set,
	const struct postierd_settings *old)
{
	for (size_t i = 0; i < settings_defs_count; i++) {
		const struct cfg_def *d = &settings_defs[i];
		if (d->reloadable)
			continue;
		void *to = (char *)set + d->offset;
		const void *from = (const char *)old + d->offset;
		switch (d->type) {
		case CFG_TYPE_STR: {
			char **p = to;
			const char *v = *(char *const *)from;
			free(*p);
			*p = v != NULL ? xstrdup(v) : NULL;
			break;
		}
		case CFG_TYPE_LIST: {
			struct cfg_list *l = to;
			const struct cfg_list *ol = from;
			for (size_t j = 0; j < l->count; j++)
				free(l->items[j]);
			free(l->items);
			l->items = NULL;
			l->count = 0;
			if (ol->count > 0) {
				l->items = xcalloc(ol->count + 1, sizeof(char *));
				for (size_t j = 0; j < ol->count; j++)
					l->items[j] = xstrdup(ol->items[j]);
				l->count = ol->count;
			}
			break;
		}
		case CFG_TYPE_BOOL:
			*(bool *)to = *(const bool *)from;
			break;
		case CFG_TYPE_INT:
		case CFG_TYPE_DURATION:
			*(long long *)to = *(const long long *)from;
			break;
		case CFG_TYPE_SIZE:
			*(uint64_t *)to = *(const uint64_t *)from;
			break;
		case CFG_TYPE_ENUM:
			*(int *)to = *(const int *)from;
			break;
		}
	}
}

void
settings_print(const struct postierd_settings *set, struct buf *out)
{
	cfg_print(settings_defs, settings_defs_count, set, out);
}

struct postierd_settings *
settings_ref(struct postierd_settings *set)
{
	PASSERT(set->refcount > 0);
	__atomic_add_fetch(&set->refcount, 1, __ATOMIC_RELAXED);
	return set;
}

void
settings_unref(struct postierd_settings **setp)
{
	struct postierd_settings *set = *setp;
	if (set == NULL)
		return;
	*setp = NULL;
	PASSERT(set->refcount > 0);
	if (__atomic_sub_fetch(&set->refcount, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	cfg_free(settings_defs, settings_defs_count, set);
	free(set->config_path);
	free(set);
}

struct postierd_settings *
settings_current(void)
{
	return __atomic_load_n(&settings_cur, __ATOMIC_ACQUIRE);
}

struct postierd_settings *
settings_current_ref(void)
{
	pthread_mutex_lock(&settings_lock);
	struct postierd_settings *set = settings_cur;
	if (set != NULL)
		settings_ref(set);
	pthread_mutex_unlock(&settings_lock);
	return set;
}

void
settings_set_current(struct postierd_settings *set)
{
	pthread_mutex_lock(&settings_lock);
	struct postierd_settings *old = settings_cur;
	__atomic_store_n(&settings_cur, set, __ATOMIC_RELEASE);
	if (old != NULL) {
		settings_retired = xrealloc(settings_retired,
			(settings_retired_count + 1) * sizeof(*settings_retired));
		settings_retired[settings_retired_count++] = old;
	}
	pthread_mutex_unlock(&settings_lock);
}

void
settings_deinit(void)
{
	pthread_mutex_lock(&settings_lock);
	for (size_t i = 0; i < settings_retired_count; i++)
		settings_unref(&settings_retired[i]);
	free(settings_retired);
	settings_retired = NULL;
	settings_retired_count = 0;
	settings_unref(&settings_cur);
	pthread_mutex_unlock(&settings_lock);
}
