/* check_postier_pop3: POP3 check against any server: greeting, CAPA, STLS
 * or implicit TLS, certificate, optional USER/PASS (credentials from a
 * file) and STAT, response time. Uses lib/client. */
#include "postier.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "client/sync.h"
#include "core/xmalloc.h"
#include "mailcheck.h"
#include "plugin.h"

static int
on_option(struct plugin *p, int key, const char *arg, void *context)
{
	struct mailcheck *m = context;
	(void)p;
	return mailcheck_option(m, key, arg) == 1 ? 0 : -1;
}

static void
close_session(void *session)
{
	struct pop3c *c = session;
	pop3c_sync_free(&c);
}

static bool
has_capa(const void *session, const char *name)
{
	return pop3c_has_capa(session, name);
}

static const char *
reply_text(const struct pop3c *c)
{
	const struct pop3_reply *r = pop3c_reply(c);
	return r != NULL ? buf_data(&r->text) : "";
}

int
main(int argc, char **argv)
{
	struct plugin p;
	struct mailcheck m;

	plugin_init(&p, "check_postier_pop3", "POP3");
	mailcheck_init(&m, &p);
	p.usage = "-H HOST [-p PORT] [--tls=none|starttls|implicit] "
		"[-a AUTHFILE] [-e STRING] [-C CAPABILITY]... "
		"[-D WARN[,CRIT]] [--ca-file PATH] [-w SECONDS] [-c SECONDS]";
	p.blurb = "Checks a POP3 server: the greeting, CAPA, STLS or implicit "
		"TLS and the\ncertificate, and optionally USER/PASS with the "
		"credentials of an authfile\n(then STAT). -w/-c are ranges for "
		"the total time in seconds.\nDefault port 110, 995 with "
		"--tls=implicit.";
	plugin_parse_args(&p, argc, argv,
		PLUGIN_COMMON_HOST | PLUGIN_COMMON_THRESHOLDS,
		mailcheck_options, mailcheck_n_options, on_option, &m);
	mailcheck_setup(&m, 110, 995);

	struct pop3c *c = pop3c_sync_new(&m.opts);
	m.session = c;
	m.close_session = close_session;

	plugin_phase("connect and greeting");
	int r = pop3c_sync_connect(c);
	if (r != CLIENT_OK)
		mailcheck_fail(&m, pop3c_step(c), r, pop3c_error(c),
			reply_text(c));
	char *greeting = xasprintf("+OK %.*s",
		(int)strcspn(reply_text(c), "\r\n"), reply_text(c));
	plugin_debug(&p, 2, "greeting: %s", greeting);
	mailcheck_expect(&m, greeting);

	plugin_phase("CAPA");
	r = pop3c_sync_capa(c);
	if (r == CLIENT_ERROR) {
		free(greeting);
		mailcheck_fail(&m, "CAPA", r, pop3c_error(c), reply_text(c));
	}
	/* CAPA is optional (RFC 2449): -ERR means no capability list */
	if (m.tls == CLIENT_TLS_STARTTLS) {
		if (r == CLIENT_OK && !pop3c_has_capa(c, "STLS")) {
			free(greeting);
			mailcheck_fail(&m, "STLS", CLIENT_ERROR,
				"not advertised", NULL);
		}
		plugin_phase("STLS");
		r = pop3c_sync_stls(c);
		if (r != CLIENT_OK) {
			free(greeting);
			mailcheck_fail(&m, "STLS", r, pop3c_error(c),
				reply_text(c));
		}
		plugin_phase("CAPA after STLS");
		r = pop3c_sync_capa(c);
		if (r == CLIENT_ERROR) {
			free(greeting);
			mailcheck_fail(&m, "CAPA", r, pop3c_error(c),
				reply_text(c));
		}
	}
	if (pop3c_is_tls(c))
		mailcheck_cert(&m, pop3c_ssl(c));
	mailcheck_capas(&m, has_capa, c);
	char *login = NULL;
	if (m.user != NULL) {
		plugin_phase("USER/PASS");
		r = pop3c_sync_login(c, m.user, m.password);
		if (r != CLIENT_OK) {
			free(greeting);
			mailcheck_fail(&m, "login", r, pop3c_error(c),
				reply_text(c));
		}
		unsigned count = 0;
		uint64_t octets = 0;
		plugin_phase("STAT");
		r = pop3c_sync_stat(c, &count, &octets);
		if (r != CLIENT_OK) {
			free(greeting);
			mailcheck_fail(&m, "STAT", r, pop3c_error(c),
				reply_text(c));
		}
		plugin_perf_add(&p, "messages", count, "", NULL, 0, NAN);
		login = xasprintf(", login ok, %u message%s", count,
			count == 1 ? "" : "s");
	}
	plugin_phase("QUIT");
	(void)pop3c_sync_quit(c);

	char *summary = xasprintf("%s%s%s", greeting,
		pop3c_is_tls(c) ? ", TLS" : "", login != NULL ? login : "");
	free(greeting);
	free(login);
	struct client_timing t = *pop3c_timing(c);
	mailcheck_finish(&m, &t, summary);
}
