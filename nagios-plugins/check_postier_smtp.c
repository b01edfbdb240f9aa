/* check_postier_smtp: SMTP / submission check against any server: greeting,
 * EHLO extensions, STARTTLS or implicit TLS, certificate, optional AUTH with
 * credentials from a file, response time. Uses lib/client (sync API). */
#include "postier.h"

#include <stdlib.h>
#include <string.h>

#include "client/sync.h"
#include "core/xmalloc.h"
#include "mailcheck.h"
#include "plugin.h"

enum { OPT_HELO = 6000 };

static const char *helo_name = "check-postier.invalid";

static int
on_option(struct plugin *p, int key, const char *arg, void *context)
{
	struct mailcheck *m = context;
	(void)p;
	if (mailcheck_option(m, key, arg) == 1)
		return 0;
	if (key == OPT_HELO) {
		helo_name = arg;
		return 0;
	}
	return -1;
}

static void
close_session(void *session)
{
	struct smtpc *c = session;
	smtpc_sync_free(&c);
}

static bool
has_ext(const void *session, const char *name)
{
	return smtpc_has_ext(session, name, NULL);
}

static const char *
reply_text(const struct smtpc *c)
{
	const struct smtp_reply *r = smtpc_reply(c);
	return r != NULL ? buf_data(&r->text) : "";
}

int
main(int argc, char **argv)
{
	struct plugin p;
	struct mailcheck m;
	struct plugin_option opts[32];
	size_t n = 0;

	plugin_init(&p, "check_postier_smtp", "SMTP");
	mailcheck_init(&m, &p);
	p.usage = "-H HOST [-p PORT] [--tls=none|starttls|implicit] "
		"[-a AUTHFILE] [-e STRING] [-C EXT]... [-D WARN[,CRIT]] "
		"[--ca-file PATH] [-w SECONDS] [-c SECONDS]";
	p.blurb = "Checks an SMTP or submission server: the 220 greeting, the "
		"EHLO extensions,\nSTARTTLS or implicit TLS and the certificate, "
		"and optionally AUTH with the\ncredentials of an authfile. -w/-c "
		"are ranges for the total time in seconds.\nDefault port 25, "
		"465 with --tls=implicit.";
	for (size_t i = 0; i < mailcheck_n_options; i++)
		opts[n++] = mailcheck_options[i];
	opts[n++] = (struct plugin_option){ "helo", OPT_HELO, true, "NAME",
		"Name sent with EHLO (default check-postier.invalid)" };
	plugin_parse_args(&p, argc, argv,
		PLUGIN_COMMON_HOST | PLUGIN_COMMON_THRESHOLDS, opts, n,
		on_option, &m);
	mailcheck_setup(&m, 25, 465);

	struct smtpc *c = smtpc_sync_new(&m.opts);
	m.session = c;
	m.close_session = close_session;

	plugin_phase("connect and greeting");
	int r = smtpc_sync_connect(c);
	if (r != CLIENT_OK)
		mailcheck_fail(&m, smtpc_step(c), r, smtpc_error(c),
			reply_text(c));
	char *banner = xasprintf("%d %.*s", smtpc_reply(c)->code,
		(int)strcspn(reply_text(c), "\n"), reply_text(c));
	plugin_debug(&p, 2, "greeting: %s", banner);
	mailcheck_expect(&m, reply_text(c));

	plugin_phase("EHLO");
	r = smtpc_sync_ehlo(c, helo_name);
	if (r != CLIENT_OK) {
		free(banner);
		mailcheck_fail(&m, "EHLO", r, smtpc_error(c), reply_text(c));
	}
	if (m.tls == CLIENT_TLS_STARTTLS) {
		if (!smtpc_has_ext(c, "STARTTLS", NULL)) {
			free(banner);
			mailcheck_fail(&m, "STARTTLS", CLIENT_ERROR,
				"not advertised", NULL);
		}
		plugin_phase("STARTTLS");
		r = smtpc_sync_starttls(c);
		if (r != CLIENT_OK) {
			free(banner);
			mailcheck_fail(&m, "STARTTLS", r, smtpc_error(c),
				reply_text(c));
		}
		plugin_phase("EHLO after STARTTLS");
		r = smtpc_sync_ehlo(c, helo_name);
		if (r != CLIENT_OK) {
			free(banner);
			mailcheck_fail(&m, "EHLO after STARTTLS", r,
				smtpc_error(c), reply_text(c));
		}
	}
	plugin_debug(&p, 2, "EHLO: %s", reply_text(c));
	unsigned exts = smtpc_reply(c)->n_lines > 0 ?
		smtpc_reply(c)->n_lines - 1 : 0;
	if (smtpc_is_tls(c))
		mailcheck_cert(&m, smtpc_ssl(c));
	mailcheck_capas(&m, has_ext, c);
	bool logged_in = false;
	if (m.user != NULL) {
		plugin_phase("AUTH");
		r = smtpc_sync_auth(c, SMTPC_AUTH_AUTO, m.user, m.password);
		if (r != CLIENT_OK) {
			free(banner);
			mailcheck_fail(&m, "AUTH", r, smtpc_error(c),
				reply_text(c));
		}
		logged_in = true;
	}
	plugin_phase("QUIT");
	(void)smtpc_sync_quit(c);

	char *summary = xasprintf("%s, %u extension%s%s%s", banner, exts,
		exts == 1 ? "" : "s", smtpc_is_tls(c) ? ", TLS" : "",
		logged_in ? ", login ok" : "");
	free(banner);
	struct client_timing t = *smtpc_timing(c);
	mailcheck_finish(&m, &t, summary);
}
