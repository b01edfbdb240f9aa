/* check_postier_roundtrip: sends a probe message over submission, waits for
 * it over IMAP or POP3, deletes it, and checks the end-to-end time against
 * -w/-c. Probes left behind by an earlier run that timed out are deleted as
 * well. Uses lib/client for both legs. */
#include "postier.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/sync.h"
#include "core/buf.h"
#include "core/xmalloc.h"
#include "mailcheck.h"
#include "plugin.h"

#define PROBE_HEADER "X-Postier-Probe"
/* POP3 has no search: the newest messages are scanned with TOP. */
#define POP3_SCAN_LAST 50

enum {
	OPT_SMTP_PORT = 7000,
	OPT_READ_PORT,
	OPT_PROTOCOL,
	OPT_FROM,
	OPT_TO,
	OPT_POLL_MS,
};

struct roundtrip {
	struct mailcheck m;
	int smtp_port;
	int read_port;
	bool pop3;
	const char *from, *to;
	int poll_ms;
	char id[96];
};

static const struct plugin_option rt_options[] = {
	{ "smtp-port", OPT_SMTP_PORT, true, "PORT",
		"Submission port (default 587, 465 with --tls=implicit)" },
	{ "read-port", OPT_READ_PORT, true, "PORT",
		"IMAP/POP3 port (default 143/110, 993/995 with implicit TLS)" },
	{ "protocol", OPT_PROTOCOL, true, "imap|pop3",
		"How the probe is read back (default imap)" },
	{ "from", OPT_FROM, true, "ADDRESS",
		"Envelope and header sender (default the authfile user)" },
	{ "to", OPT_TO, true, "ADDRESS",
		"Recipient whose mailbox the authfile user reads (default "
		"the authfile user)" },
	{ "poll", OPT_POLL_MS, true, "MS",
		"Interval between looks at the mailbox (default 200)" },
};

static int
on_option(struct plugin *p, int key, const char *arg, void *context)
{
	struct roundtrip *rt = context;
	char *end;

	if (mailcheck_option(&rt->m, key, arg) == 1)
		return 0;
	switch (key) {
	case OPT_SMTP_PORT:
	case OPT_READ_PORT: {
		long v = strtol(arg, &end, 10);
		if (*arg == '\0' || *end != '\0' || v < 1 || v > 65535)
			plugin_usage_error(p, "bad port '%s'", arg);
		if (key == OPT_SMTP_PORT)
			rt->smtp_port = (int)v;
		else
			rt->read_port = (int)v;
		return 0;
	}
	case OPT_PROTOCOL:
		if (strcmp(arg, "imap") == 0)
			rt->pop3 = false;
		else if (strcmp(arg, "pop3") == 0)
			rt->pop3 = true;
		else
			plugin_usage_error(p, "bad --protocol '%s' (imap or "
				"pop3)", arg);
		return 0;
	case OPT_FROM:
		rt->from = arg;
		return 0;
	case OPT_TO:
		rt->to = arg;
		return 0;
	case OPT_POLL_MS: {
		long v = strtol(arg, &end, 10);
		if (*arg == '\0' || *end != '\0' || v < 10 || v > 60000)
			plugin_usage_error(p, "bad --poll '%s' (10-60000 ms)",
				arg);
		rt->poll_ms = (int)v;
		return 0;
	}
	}
	return -1;
}

static void
close_smtp(void *s)
{
	struct smtpc *c = s;
	smtpc_sync_free(&c);
}

static void
close_imap(void *s)
{
	struct imapc *c = s;
	imapc_sync_free(&c);
}

static void
close_pop3(void *s)
{
	struct pop3c *c = s;
	pop3c_sync_free(&c);
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0)
		;
}

static const char *
smtp_text(const struct smtpc *c)
{
	return smtpc_reply(c) != NULL ? buf_data(&smtpc_reply(c)->text) : "";
}

/* Submission leg. Returns the microseconds of MAIL..end of DATA. */
static int64_t
send_probe(struct roundtrip *rt)
{
	struct mailcheck *m = &rt->m;
	struct client_opts o = m->opts;
	o.port = (unsigned)rt->smtp_port;
	struct smtpc *c = smtpc_sync_new(&o);
	m->session = c;
	m->close_session = close_smtp;

	plugin_phase("submission");
	int r = smtpc_sync_open(c, "check-postier.invalid", m->user,
		m->password);
	if (r != CLIENT_OK)
		mailcheck_fail(m, smtpc_step(c), r, smtpc_error(c),
			smtp_text(c));
	if (smtpc_is_tls(c))
		mailcheck_cert(m, smtpc_ssl(c));
	int64_t t0 = client_now_us();
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	struct buf msg;
	buf_init(&msg);
	buf_printf(&msg, "From: <%s>\r\nTo: <%s>\r\nDate: %s\r\n"
		"Message-ID: <%s@check-postier.invalid>\r\n"
		"Subject: Postier round-trip probe %s\r\n"
		PROBE_HEADER ": %s\r\n\r\n"
		"This message checks mail delivery; check_postier_roundtrip "
		"deletes it.\r\n", rt->from, rt->to, date, rt->id, rt->id, rt->id);
	plugin_phase("MAIL FROM");
	r = smtpc_sync_mail(c, rt->from, buf_len(&msg));
	if (r == CLIENT_OK) {
		plugin_phase("RCPT TO");
		r = smtpc_sync_rcpt(c, rt->to);
	}
	if (r == CLIENT_OK) {
		plugin_phase("DATA");
		r = smtpc_sync_data(c, buf_data(&msg), buf_len(&msg));
	}
	buf_clear(&msg);
	if (r != CLIENT_OK)
		mailcheck_fail(m, smtpc_step(c), r, smtpc_error(c),
			smtp_text(c));
	int64_t took = client_now_us() - t0;
	plugin_phase("QUIT");
	(void)smtpc_sync_quit(c);
	smtpc_sync_free(&c);
	m->session = NULL;
	return took;
}

/* Looks once over IMAP; deletes every probe found. Returns 1 when ours was
 * among them. *stale_r counts other probes. */
static int
imap_look(struct roundtrip *rt, struct imapc *c, unsigned *stale_r)
{
	struct mailcheck *m = &rt->m;
	char crit[160];

	plugin_phase("IMAP search");
	int r = imapc_sync_command(c, "NOOP");
	if (r == CLIENT_OK) {
		snprintf(crit, sizeof(crit), "HEADER %s \"\"", PROBE_HEADER);
		r = imapc_sync_uid_search(c, crit);
	}
	if (r != CLIENT_OK)
		mailcheck_fail(m, "IMAP SEARCH", r, imapc_error(c),
			buf_data(&imapc_resp(c)->text));
	size_t n_all;
	const uint32_t *all = imapc_uids(c, &n_all);
	if (n_all == 0)
		return 0;
	uint32_t *uids = xmalloc(n_all * sizeof(uids[0]));
	memcpy(uids, all, n_all * sizeof(uids[0]));
	snprintf(crit, sizeof(crit), "HEADER %s \"%s\"", PROBE_HEADER, rt->id);
	r = imapc_sync_uid_search(c, crit);
	size_t n_ours = 0;
	if (r == CLIENT_OK)
		(void)imapc_uids(c, &n_ours);
	for (size_t i = 0; i < n_all; i++)
		(void)imapc_sync_uid_store_deleted(c, uids[i]);
	(void)imapc_sync_expunge(c);
	free(uids);
	*stale_r += (unsigned)(n_all - n_ours);
	return n_ours > 0 ? 1 : 0;
}

/* Looks once over POP3 (a new session each time: a maildrop is a snapshot
 * taken at login). Returns 1 when ours was found. */
static int
pop3_look(struct roundtrip *rt, const struct client_opts *o, unsigned *stale_r)
{
	struct mailcheck *m = &rt->m;
	struct pop3c *c = pop3c_sync_new(o);
	m->session = c;
	m->close_session = close_pop3;
	plugin_phase("POP3 login");
	int r = pop3c_sync_open(c, m->user, m->password);
	unsigned count = 0;
	uint64_t octets;
	if (r == CLIENT_OK)
		r = pop3c_sync_stat(c, &count, &octets);
	if (r != CLIENT_OK)
		mailcheck_fail(m, pop3c_step(c), r, pop3c_error(c),
			pop3c_reply(c) ? buf_data(&pop3c_reply(c)->text) : "");
	int found = 0;
	plugin_phase("POP3 TOP");
	unsigned first = count > POP3_SCAN_LAST ? count - POP3_SCAN_LAST + 1 : 1;
	for (unsigned i = count; i >= first && i > 0; i--) {
		char cmd[32];
		snprintf(cmd, sizeof(cmd), "TOP %u 0", i);
		if (pop3c_sync_command(c, cmd, true) != CLIENT_OK)
			continue;
		const char *body = buf_data(&pop3c_reply(c)->body);
		const char *h = strstr(body, PROBE_HEADER ": ");
		if (h == NULL)
			continue;
		h += strlen(PROBE_HEADER ": ");
		if (strncmp(h, rt->id, strlen(rt->id)) == 0)
			found = 1;
		else
			(*stale_r)++;
		(void)pop3c_sync_dele(c, i);
	}
	plugin_phase("POP3 QUIT");
	(void)pop3c_sync_quit(c); /* QUIT commits the deletions */
	pop3c_sync_free(&c);
	m->session = NULL;
	return found;
}

int
main(int argc, char **argv)
{
	struct plugin p;
	struct roundtrip rt;
	struct plugin_option opts[32];
	size_t n = 0;

	memset(&rt, 0, sizeof(rt));
	rt.poll_ms = 200;
	plugin_init(&p, "check_postier_roundtrip", "ROUNDTRIP");
	p.timeout_s = 30;
	mailcheck_init(&rt.m, &p);
	p.usage = "-H HOST -a AUTHFILE [--tls=none|starttls|implicit] "
		"[--smtp-port PORT] [--protocol imap|pop3] [--read-port PORT] "
		"[--from ADDR] [--to ADDR] [-w SECONDS] [-c SECONDS]";
	p.blurb = "Sends a probe message over submission (AUTH with the "
		"authfile's credentials),\nwaits until it is visible over IMAP "
		"or POP3, deletes it, and checks the\nend-to-end time against "
		"-w/-c (seconds). Default -t is 30 s.";
	for (size_t i = 0; i < mailcheck_n_options; i++)
		opts[n++] = mailcheck_options[i];
	for (size_t i = 0; i < N_ELEMENTS(rt_options); i++)
		opts[n++] = rt_options[i];
	plugin_parse_args(&p, argc, argv,
		PLUGIN_COMMON_HOST | PLUGIN_COMMON_THRESHOLDS, opts, n,
		on_option, &rt);
	if (rt.m.authfile == NULL)
		plugin_usage_error(&p, "-a AUTHFILE is required");
	mailcheck_setup(&rt.m, 587, 465);
	bool implicit = rt.m.tls == CLIENT_TLS_IMPLICIT;
	if (rt.smtp_port == 0)
		rt.smtp_port = p.port != 0 ? p.port : implicit ? 465 : 587;
	if (rt.read_port == 0)
		rt.read_port = rt.pop3 ? (implicit ? 995 : 110) :
			(implicit ? 993 : 143);
	if (rt.from == NULL)
		rt.from = rt.m.user;
	if (rt.to == NULL)
		rt.to = rt.m.user;
	unsigned rnd;
	FILE *ur = fopen("/dev/urandom", "r");
	if (ur == NULL || fread(&rnd, sizeof(rnd), 1, ur) != 1)
		rnd = (unsigned)time(NULL);
	if (ur != NULL)
		fclose(ur);
	snprintf(rt.id, sizeof(rt.id), "%lld.%ld.%08x",
		(long long)time(NULL), (long)getpid(), rnd);

	int64_t start = client_now_us();
	int64_t submit_us = send_probe(&rt);
	int64_t accepted = client_now_us();

	struct client_opts o = rt.m.opts;
	o.port = (unsigned)rt.read_port;
	unsigned stale = 0;
	int found = 0;
	struct imapc *ic = NULL;
	if (!rt.pop3) {
		ic = imapc_sync_new(&o);
		rt.m.session = ic;
		rt.m.close_session = close_imap;
		plugin_phase("IMAP login");
		int r = imapc_sync_open(ic, rt.m.user, rt.m.password);
		if (r == CLIENT_OK)
			r = imapc_sync_select(ic, "INBOX");
		if (r != CLIENT_OK)
			mailcheck_fail(&rt.m, imapc_step(ic), r,
				imapc_error(ic),
				buf_data(&imapc_resp(ic)->text));
	}
	for (;;) {
		found = rt.pop3 ? pop3_look(&rt, &o, &stale) :
			imap_look(&rt, ic, &stale);
		if (found)
			break;
		plugin_phase(rt.pop3 ? "waiting for the probe over POP3" :
			"waiting for the probe over IMAP");
		sleep_ms(rt.poll_ms);
	}
	int64_t seen = client_now_us();
	if (ic != NULL) {
		plugin_phase("IMAP LOGOUT");
		(void)imapc_sync_logout(ic);
		imapc_sync_free(&ic);
		rt.m.session = NULL;
	}
	double total = (double)(seen - start) / 1e6;
	double delivery = (double)(seen - accepted) / 1e6;
	enum plugin_state st = plugin_perf_add(&p, "roundtrip", total, "s",
		&p.threshold, 0, NAN);
	plugin_perf_add(&p, "submit", (double)submit_us / 1e6, "s", NULL, 0,
		NAN);
	plugin_perf_add(&p, "delivery", delivery, "s", NULL, 0, NAN);
	if (stale > 0)
		mailcheck_note(&rt.m, PLUGIN_STATE_OK, "%u stale probe%s "
			"deleted", stale, stale == 1 ? "" : "s");
	if (st != PLUGIN_STATE_OK)
		mailcheck_note(&rt.m, st, "beyond the %s threshold",
			st == PLUGIN_STATE_CRITICAL ? "critical" : "warning");
	struct buf text;
	buf_init(&text);
	buf_printf(&text, "probe sent to %s and read back over %s in %.3f s "
		"(delivery %.3f s)", rt.to, rt.pop3 ? "POP3" : "IMAP", total,
		delivery);
	if (buf_len(&rt.m.text) > 0)
		buf_printf(&text, ", %s", buf_data(&rt.m.text));
	plugin_exit_owned(&p, plugin_state_worst(rt.m.state, st),
		buf_steal(&text));
}
