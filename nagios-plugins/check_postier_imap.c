/* check_postier_imap: IMAP check against any server: greeting, CAPABILITY,
 * STARTTLS or implicit TLS, certificate, optional LOGIN (credentials from a
 * file) and SELECT of a mailbox, response time. Uses lib/client. */
#include "postier.h"

#include <math.h>
#include <stdlib.h>
#include <ctype.h>
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

/* The "* CAPABILITY ..." line of the last CAPABILITY command, upper-cased
 * with a space at both ends. XXX: a work-around: imapc_has_capa() also
 * takes "CAPABILITY " from the tagged text ("a2 OK Capability completed."
 * replaces the list with "COMPLETED."), reported to lib/client's owner. */
static char capa_list[4096];

static void
keep_capabilities(const struct imapc *c)
{
	const char *s = buf_data(&imapc_resp(c)->untagged);
	capa_list[0] = '\0';
	for (const char *line = s; line != NULL && *line != '\0';) {
		const char *nl = strchr(line, '\n');
		size_t len = nl != NULL ? (size_t)(nl - line) : strlen(line);
		if (len > 13 && strncasecmp(line, "* CAPABILITY ", 13) == 0) {
			size_t n = 0;
			capa_list[n++] = ' ';
			for (size_t i = 13; i < len && n + 2 < sizeof(capa_list);
			    i++) {
				if (line[i] == '\r')
					continue;
				capa_list[n++] = (char)toupper(
					(unsigned char)line[i]);
			}
			capa_list[n++] = ' ';
			capa_list[n] = '\0';
			return;
		}
		line = nl != NULL ? nl + 1 : NULL;
	}
}

static bool
has_capa(const void *session, const char *name)
{
	char want[128];
	size_t n = strlen(name);

	if (capa_list[0] == '\0')
		return imapc_has_capa(session, name);
	if (n + 3 > sizeof(want))
		return false;
	want[0] = ' ';
	for (size_t i = 0; i < n; i++)
		want[i + 1] = (char)toupper((unsigned char)name[i]);
	want[n + 1] = ' ';
	want[n + 2] = '\0';
	return strstr(capa_list, want) != NULL;
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
		if (r == CLIENT_OK)
			keep_capabilities(c);
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
	keep_capabilities(c);
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
