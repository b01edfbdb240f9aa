/* mailcheck.c: shared part of the SMTP/IMAP/POP3/roundtrip checks. */
#include "postier.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "core/tls.h"
#include "core/xmalloc.h"
#include "mailcheck.h"

const struct plugin_option mailcheck_options[] = {
	{ "tls", MAILCHECK_OPT_TLS, true, "none|starttls|implicit",
		"TLS mode (default none)" },
	{ "starttls", MAILCHECK_OPT_STARTTLS, false, NULL,
		"Same as --tls=starttls (STARTTLS / STLS after the greeting)" },
	{ "ssl", MAILCHECK_OPT_SSL, false, NULL,
		"Same as --tls=implicit (TLS from the first byte)" },
	{ "authfile", MAILCHECK_OPT_AUTHFILE, true, "PATH",
		"Log in with the username= and password= lines of PATH" },
	{ "expect", MAILCHECK_OPT_EXPECT, true, "STRING",
		"The greeting must contain STRING (WARNING if not)" },
	{ "capability", MAILCHECK_OPT_CAPA, true, "NAME",
		"The server must advertise NAME (repeat for several; WARNING "
		"if not)" },
	{ "certificate", MAILCHECK_OPT_CERT_DAYS, true, "WARN[,CRIT]",
		"Days before the certificate expires that give WARNING and "
		"CRITICAL (an expired one is always CRITICAL)" },
	{ "ca-file", MAILCHECK_OPT_CA_FILE, true, "PATH",
		"Verify the certificate chain against the CAs of PATH "
		"(CRITICAL if it does not verify)" },
	{ "servername", MAILCHECK_OPT_SERVERNAME, true, "NAME",
		"Name sent as SNI and required in the certificate "
		"(default -H)" },
	{ "ignore-name", MAILCHECK_OPT_IGNORE_NAME, false, NULL,
		"Do not require the name in the certificate" },
};
const size_t mailcheck_n_options = N_ELEMENTS(mailcheck_options);

static void
mailcheck_cleanup(void *context)
{
	struct mailcheck *m = context;

	if (m->close_session != NULL && m->session != NULL)
		m->close_session(m->session);
	m->session = NULL;
	if (m->cleanup != NULL)
		m->cleanup(m->cleanup_context);
	m->cleanup = NULL;
	if (m->password != NULL)
		OPENSSL_cleanse(m->password, strlen(m->password));
	free(m->password);
	free(m->user);
	m->password = m->user = NULL;
	if (m->ssl_ctx != NULL)
		SSL_CTX_free(m->ssl_ctx);
	m->ssl_ctx = NULL;
	buf_clear(&m->text);
}

void
mailcheck_init(struct mailcheck *m, struct plugin *p)
{
	memset(m, 0, sizeof(*m));
	m->p = p;
	m->tls = CLIENT_TLS_NONE;
	buf_init(&m->text);
	p->cleanup = mailcheck_cleanup;
	p->cleanup_context = m;
}

static int
parse_days(const char *s, long *days_r)
{
	char *end;
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || v > 36500 || (*end != '\0' && *end != ','))
		return -1;
	*days_r = v;
	return 0;
}

int
mailcheck_option(struct mailcheck *m, int key, const char *arg)
{
	switch (key) {
	case MAILCHECK_OPT_TLS:
		if (client_tls_parse(arg, &m->tls) < 0)
			plugin_usage_error(m->p, "bad --tls '%s' (none, "
				"starttls or implicit)", arg);
		return 1;
	case MAILCHECK_OPT_STARTTLS:
		m->tls = CLIENT_TLS_STARTTLS;
		return 1;
	case MAILCHECK_OPT_SSL:
		m->tls = CLIENT_TLS_IMPLICIT;
		return 1;
	case MAILCHECK_OPT_AUTHFILE:
		m->authfile = arg;
		return 1;
	case MAILCHECK_OPT_EXPECT:
		m->expect = arg;
		return 1;
	case MAILCHECK_OPT_CAPA:
		if (m->n_capas == MAILCHECK_MAX_CAPAS)
			plugin_usage_error(m->p, "at most %d -C",
				MAILCHECK_MAX_CAPAS);
		if (*arg == '\0')
			plugin_usage_error(m->p, "empty -C");
		m->capas[m->n_capas++] = arg;
		return 1;
	case MAILCHECK_OPT_CERT_DAYS: {
		const char *comma = strchr(arg, ',');
		m->cert_crit_days = 0;
		if (parse_days(arg, &m->cert_warn_days) < 0 ||
		    (comma != NULL && parse_days(comma + 1,
		    &m->cert_crit_days) < 0) ||
		    m->cert_crit_days > m->cert_warn_days)
			plugin_usage_error(m->p, "bad -D '%s' (WARN[,CRIT] "
				"days, CRIT <= WARN)", arg);
		m->check_days = true;
		return 1;
	}
	case MAILCHECK_OPT_CA_FILE:
		m->ca_file = arg;
		return 1;
	case MAILCHECK_OPT_SERVERNAME:
		m->server_name = arg;
		return 1;
	case MAILCHECK_OPT_IGNORE_NAME:
		m->ignore_name = true;
		return 1;
	}
	return 0;
}

int
mailcheck_read_authfile(const char *path, char **user_r, char **password_r,
	const char **error_r)
{
	FILE *f = fopen(path, "r");
	char *user = NULL, *password = NULL;
	char line[1024];

	if (f == NULL) {
		*error_r = strerror(errno);
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t n = strcspn(line, "\r\n");
		if (line[n] == '\0' && !feof(f)) {
			*error_r = "line too long";
			goto fail;
		}
		line[n] = '\0';
		const char *s = line;
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0' || *s == '#')
			continue;
		if (strncmp(s, "username=", 9) == 0) {
			free(user);
			user = xstrdup(s + 9);
		} else if (strncmp(s, "password=", 9) == 0) {
			if (password != NULL) {
				OPENSSL_cleanse(password, strlen(password));
				free(password);
			}
			password = xstrdup(s + 9);
		} else {
			*error_r = "a line is neither username= nor password=";
			goto fail;
		}
	}
	OPENSSL_cleanse(line, sizeof(line));
	fclose(f);
	if (user == NULL || *user == '\0' || password == NULL) {
		*error_r = "needs a username= and a password= line";
		f = NULL;
		goto fail;
	}
	*user_r = user;
	*password_r = password;
	return 0;
fail:
	OPENSSL_cleanse(line, sizeof(line));
	if (f != NULL)
		fclose(f);
	free(user);
	if (password != NULL) {
		OPENSSL_cleanse(password, strlen(password));
		free(password);
	}
	return -1;
}

int
mailcheck_step_timeout_ms(const struct mailcheck *m)
{
	return (int)plugin_remaining_ms(m->p) + 1500;
}

void
mailcheck_setup(struct mailcheck *m, int plain_port, int implicit_port)
{
	struct plugin *p = m->p;
	const char *why;

	if (p->host == NULL)
		plugin_usage_error(p, "-H HOST is required");
	if (m->authfile != NULL && mailcheck_read_authfile(m->authfile,
	    &m->user, &m->password, &why) < 0)
		plugin_usage_error(p, "cannot use -a %s: %s", m->authfile, why);
	if ((m->check_days || m->ca_file != NULL) && m->tls == CLIENT_TLS_NONE)
		plugin_usage_error(p, "-D and --ca-file need --tls=starttls or "
			"--tls=implicit");
	if (m->server_name == NULL)
		m->server_name = p->host;
	if (m->tls != CLIENT_TLS_NONE && m->ca_file != NULL) {
		m->ssl_ctx = tls_client_ctx_new(m->ca_file, &why);
		if (m->ssl_ctx == NULL)
			plugin_usage_error(p, "cannot use --ca-file %s: %s",
				m->ca_file, why);
	} else if (m->tls != CLIENT_TLS_NONE) {
		/* Without --ca-file the chain is not judged, so the system
		 * trust store is not loaded: parsing Debian's bundle of ~140
		 * CA certificates costs more CPU than the whole check. */
		m->ssl_ctx = SSL_CTX_new(TLS_client_method());
		if (m->ssl_ctx == NULL)
			plugin_exit(p, PLUGIN_STATE_UNKNOWN, "SSL_CTX_new failed");
		SSL_CTX_set_min_proto_version(m->ssl_ctx, TLS1_2_VERSION);
		SSL_CTX_set_verify(m->ssl_ctx, SSL_VERIFY_NONE, NULL);
		SSL_CTX_set_session_cache_mode(m->ssl_ctx, SSL_SESS_CACHE_OFF);
	}
	memset(&m->opts, 0, sizeof(m->opts));
	m->opts.host = p->host;
	m->opts.port = (unsigned)(p->port != 0 ? p->port :
		m->tls == CLIENT_TLS_IMPLICIT ? implicit_port : plain_port);
	m->opts.family = p->family;
	m->opts.tls = m->tls;
	m->opts.ssl_ctx = m->ssl_ctx;
	m->opts.ca_file = m->ca_file;
	m->opts.server_name = m->server_name;
	plugin_start_timer(p);
	m->opts.timeout_ms = mailcheck_step_timeout_ms(m);
	m->start_us = client_now_us();
}

void
mailcheck_note(struct mailcheck *m, enum plugin_state state,
	const char *fmt, ...)
{
	va_list ap;

	m->state = plugin_state_worst(m->state, state);
	if (buf_len(&m->text) > 0)
		buf_append_str(&m->text, ", ");
	va_start(ap, fmt);
	buf_vprintf(&m->text, fmt, ap);
	va_end(ap);
}

/* The first line of a reply, at most 120 bytes, for the status text. */
static char *
first_line(const char *s)
{
	size_t n = strcspn(s != NULL ? s : "", "\r\n");
	if (n > 120)
		n = 120;
	return xstrndup(s != NULL ? s : "", n);
}

void
mailcheck_fail(struct mailcheck *m, const char *step, int result,
	const char *error, const char *reply)
{
	enum plugin_state state = PLUGIN_STATE_CRITICAL;
	char *text;

	if (result == CLIENT_NEGATIVE) {
		char *line = first_line(reply);
		text = xasprintf("%s refused: %s", step, line);
		free(line);
	} else {
		if (error != NULL && strstr(error, "timeout") != NULL)
			state = m->p->timeout_state;
		size_t n = strlen(step);
		if (error != NULL && strncmp(error, step, n) == 0 &&
		    error[n] == ':')
			text = xstrdup(error); /* "connect: Connection refused" */
		else
			text = xasprintf("%s: %s", step,
				error != NULL ? error : "failed");
	}
	if (buf_len(&m->text) > 0) {
		char *all = xasprintf("%s (%s)", text, buf_data(&m->text));
		free(text);
		text = all;
	}
	plugin_exit_owned(m->p, plugin_state_worst(state, m->state), text);
}

void
mailcheck_expect(struct mailcheck *m, const char *greeting)
{
	if (m->expect != NULL && strstr(greeting, m->expect) == NULL) {
		char *line = first_line(greeting);
		mailcheck_note(m, PLUGIN_STATE_WARNING,
			"greeting '%s' does not contain '%s'", line, m->expect);
		free(line);
	}
}

void
mailcheck_capas(struct mailcheck *m,
	bool (*has)(const void *session, const char *capa),
	const void *session)
{
	for (size_t i = 0; i < m->n_capas; i++) {
		if (!has(session, m->capas[i]))
			mailcheck_note(m, PLUGIN_STATE_WARNING,
				"%s not advertised", m->capas[i]);
	}
}

void
mailcheck_cert(struct mailcheck *m, SSL *ssl)
{
	if (!m->check_days && m->ca_file == NULL)
		return;
	X509 *cert = SSL_get0_peer_certificate(ssl);
	if (cert == NULL) {
		mailcheck_note(m, PLUGIN_STATE_CRITICAL,
			"no server certificate");
		return;
	}
	char subject[256];
	tls_client_cert_subject(cert, subject, sizeof(subject));
	plugin_debug(m->p, 1, "certificate subject: %s", subject);
	if (!m->ignore_name && !tls_client_name_matches(cert, m->server_name))
		mailcheck_note(m, PLUGIN_STATE_CRITICAL,
			"certificate is not valid for %s (%s)",
			m->server_name, subject);
	if (m->ca_file != NULL) {
		const char *why;
		long v = tls_client_verify(ssl, &why);
		if (v != X509_V_OK)
			mailcheck_note(m, PLUGIN_STATE_CRITICAL,
				"certificate chain does not verify against "
				"%s: %s", m->ca_file, why);
	}
	if (m->check_days) {
		long long left;
		time_t not_after;
		if (tls_client_cert_expiry(cert, &left, &not_after) < 0) {
			mailcheck_note(m, PLUGIN_STATE_CRITICAL,
				"unreadable certificate expiry");
			return;
		}
		double days = floor((double)left / 86400.0);
		struct tm tm;
		char date[32];
		gmtime_r(&not_after, &tm);
		strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", &tm);
		struct threshold t;
		const char *why;
		char range[32];
		threshold_init(&t);
		snprintf(range, sizeof(range), "%ld:", m->cert_warn_days);
		t.has_warn = threshold_range_parse(range, &t.warn, &why) == 0;
		snprintf(range, sizeof(range), "%ld:", m->cert_crit_days);
		t.has_crit = threshold_range_parse(range, &t.crit, &why) == 0;
		enum plugin_state s = plugin_perf_add(m->p, "cert_days", days,
			"", &t, NAN, NAN);
		if (left <= 0)
			mailcheck_note(m, PLUGIN_STATE_CRITICAL,
				"certificate expired on %s", date);
		else if (s != PLUGIN_STATE_OK)
			mailcheck_note(m, s, "certificate expires in %.0f "
				"days (%s)", days, date);
		else
			plugin_debug(m->p, 1, "certificate expires in %.0f "
				"days (%s)", days, date);
	}
}

static void
add_step(struct plugin *p, const char *label, int64_t us)
{
	if (us > 0)
		plugin_perf_add(p, label, (double)us / 1e6, "s", NULL, 0, NAN);
}

void
mailcheck_finish(struct mailcheck *m, const struct client_timing *t,
	char *summary)
{
	double total = (double)(client_now_us() - m->start_us) / 1e6;
	enum plugin_state ts = plugin_perf_add(m->p, "time", total, "s",
		&m->p->threshold, 0, NAN);
	if (t != NULL) {
		add_step(m->p, "connect", t->connect_us);
		add_step(m->p, "tls", t->tls_us);
		add_step(m->p, "greeting", t->greeting_us);
		add_step(m->p, "auth", t->auth_us);
	}
	enum plugin_state state = plugin_state_worst(m->state, ts);
	char *text;
	if (ts != PLUGIN_STATE_OK)
		mailcheck_note(m, ts, "%.3f s is beyond the %s threshold",
			total, ts == PLUGIN_STATE_CRITICAL ? "critical" :
			"warning");
	if (buf_len(&m->text) > 0)
		text = xasprintf("%s, %.3f s, %s", summary, total,
			buf_data(&m->text));
	else
		text = xasprintf("%s, %.3f s", summary, total);
	free(summary);
	plugin_exit_owned(m->p, state, text);
}
