/* check_postier_imap: IMAP check against any server: greeting, CAPABILITY,
 * STARTTLS or implicit TLS, certificate, optional LOGIN (credentials from a
 * file) and SELECT of a mailbox, response time. Uses lib/client. */
#include "postier.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client/sync.h"
#include "core/xmalloc.h"
#include "mailcheck.h"
#include "plugin.h"

enum { OPT_MAILBOX = 'm' };

static const char *mailbox;

static int
on_option(struct plugin *p, int key, const char *arg, void *context)
{
	struct mailcheck *m = context;
	(void)p;
	if (mailcheck_option(m, key, arg) == 1)
		return 0;
	if (key == OPT_MAILBOX) {
		mailbox = arg;
		return 0;
	}
	return -1;
}

static void
close_session(void *session)
{
	struct imapc *c = session;
	imapc_sync_free(&c);
}

/* mailcheck_capas() takes a session-agnostic predicate. */
static bool
has_capa(const void *session, const char *name)
{
	return imapc_has_capa(session, name);
}

static const char *
resp_text(const struct imapc *c)
{
	const struct imap_resp *r = imapc_resp(c);
	return r != NULL ? buf_data(&r->text) : "";
}

int
main(int argc, char **argv)
{
	struct plugin p;
	struct mailcheck m;
	struct plugin_option opts[32];
	size_t n = 0;

	plugin_init(&p, "check_postier_imap", "IMAP");
	mailcheck_init(&m, &p);
	p.usage = "-H HOST [-p PORT] [--tls=none|starttls|implicit] "
		"[-a AUTHFILE [-m MAILBOX]] [-e STRING] [-C CAPABILITY]... "
		"[-D WARN[,CRIT]] [--ca-file PATH] [-w SECONDS] [-c SECONDS]";
	p.blurb = "Checks an IMAP server: the greeting, CAPABILITY, STARTTLS "
		"or implicit TLS and\nthe certificate, and optionally LOGIN "
		"with the credentials of an authfile\n(and SELECT of -m MAILBOX). "
		"-w/-c are ranges for the total time in seconds.\nDefault port "
		"143, 993 with --tls=implicit.";
	for (size_t i = 0; i < mailcheck_n_options; i++)
		opts[n++] = mailcheck_options[i];
	opts[n++] = (struct plugin_option){ "mailbox", OPT_MAILBOX, true,
		"NAME", "After LOGIN, SELECT this mailbox (e.g. INBOX)" };
	plugin_parse_args(&p, argc, argv,
		PLUGIN_COMMON_HOST | PLUGIN_COMMON_THRESHOLDS, opts, n,
		on_option, &m);
	if (mailbox != NULL && m.authfile == NULL)
		plugin_usage_error(&p, "-m needs -a AUTHFILE");
	mailcheck_setup(&m, 143, 993);

	struct imapc *c = imapc_sync_new(&m.opts);
	m.session = c;
	m.close_session = close_session;

	plugin_phase("connect and greeting");
	int r = imapc_sync_connect(c);
	if (r != CLIENT_OK)
		mailcheck_fail(&m, imapc_step(c), r, imapc_error(c),
			resp_text(c));
	char *greeting = xasprintf("* OK %.*s",
		(int)strcspn(resp_text(c), "\r\n"), resp_text(c));
	plugin_debug(&p, 2, "greeting: %s", greeting);
	mailcheck_expect(&m, greeting);

	if (m.tls == CLIENT_TLS_STARTTLS) {
		plugin_phase("CAPABILITY");
		r = imapc_sync_capability(c);
		if (r == CLIENT_OK && !has_capa(c, "STARTTLS")) {
			free(greeting);
			mailcheck_fail(&m, "STARTTLS", CLIENT_ERROR,
				"not advertised", NULL);
		}
		plugin_phase("STARTTLS");
		r = imapc_sync_starttls(c);
		if (r != CLIENT_OK) {
			free(greeting);
			mailcheck_fail(&m, "STARTTLS", r, imapc_error(c),
				resp_text(c));
		}
	}
	plugin_phase("CAPABILITY");
	r = imapc_sync_capability(c);
	if (r != CLIENT_OK) {
		free(greeting);
		mailcheck_fail(&m, "CAPABILITY", r, imapc_error(c),
			resp_text(c));
	}
	if (!has_capa(c, "IMAP4rev1") && !has_capa(c, "IMAP4rev2"))
		mailcheck_note(&m, PLUGIN_STATE_WARNING,
			"IMAP4rev1 not in CAPABILITY");
	if (imapc_is_tls(c))
		mailcheck_cert(&m, imapc_ssl(c));
	mailcheck_capas(&m, has_capa, c);
	bool logged_in = false;
	uint32_t exists = 0;
	if (m.user != NULL) {
		plugin_phase("LOGIN");
		r = imapc_sync_login(c, m.user, m.password);
		if (r != CLIENT_OK) {
			free(greeting);
			mailcheck_fail(&m, "LOGIN", r, imapc_error(c),
				resp_text(c));
		}
		logged_in = true;
		if (mailbox != NULL) {
			plugin_phase("SELECT");
			r = imapc_sync_select(c, mailbox);
			if (r != CLIENT_OK) {
				free(greeting);
				mailcheck_fail(&m, "SELECT", r, imapc_error(c),
					resp_text(c));
			}
			exists = imapc_exists(c);
			plugin_perf_add(&p, "messages", exists, "", NULL, 0,
				NAN);
		}
	}
	plugin_phase("LOGOUT");
	(void)imapc_sync_logout(c);

	char *summary;
	if (mailbox != NULL)
		summary = xasprintf("%s%s, login ok, %s has %u message%s",
			greeting, imapc_is_tls(c) ? ", TLS" : "", mailbox,
			exists, exists == 1 ? "" : "s");
	else
		summary = xasprintf("%s%s%s", greeting,
			imapc_is_tls(c) ? ", TLS" : "",
			logged_in ? ", login ok" : "");
	free(greeting);
	struct client_timing t = *imapc_timing(c);
	mailcheck_finish(&m, &t, summary);
}
