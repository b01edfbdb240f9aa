/* dash_layout.c: the data sources of a node's RRD and the graphs drawn from
 * them. Metric names follow lib/core/metric_names.def (docs/metrics.md). */
#include "postier.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "dash_layout.h"

const struct dash_ds dash_layout_ds[] = {
	{ "msgs_in", DASH_SRC_COUNTER, "postier_smtp_messages_received_total", NULL, 0 },
	{ "delivered", DASH_SRC_COUNTER, "postier_delivered_messages_total", NULL, 0 },
	{ "bytes_in", DASH_SRC_COUNTER, "postier_smtp_received_bytes_total", NULL, 0 },
	{ "bytes_out", DASH_SRC_COUNTER, "postier_delivered_bytes_total", NULL, 0 },
	{ "queue", DASH_SRC_GAUGE, "postier_queue_messages", NULL, 0 },
	{ "queue_age", DASH_SRC_GAUGE, "postier_queue_oldest_age_seconds", NULL, 0 },
	{ "sess_smtp", DASH_SRC_GAUGE, "postier_sessions", "proto=smtp", 0 },
	{ "sess_pop3", DASH_SRC_GAUGE, "postier_sessions", "proto=pop3", 0 },
	{ "sess_imap", DASH_SRC_GAUGE, "postier_sessions", "proto=imap", 0 },
	{ "authf_smtp", DASH_SRC_COUNTER, "postier_auth_failures_total", "proto=smtp", 0 },
	{ "authf_pop3", DASH_SRC_COUNTER, "postier_auth_failures_total", "proto=pop3", 0 },
	{ "authf_imap", DASH_SRC_COUNTER, "postier_auth_failures_total", "proto=imap", 0 },
	{ "conn_smtp", DASH_SRC_COUNTER, "postier_connections_total", "proto=smtp", 0 },
	{ "conn_pop3", DASH_SRC_COUNTER, "postier_connections_total", "proto=pop3", 0 },
	{ "conn_imap", DASH_SRC_COUNTER, "postier_connections_total", "proto=imap", 0 },
	{ "tls_smtp", DASH_SRC_COUNTER, "postier_tls_connections_total", "proto=smtp", 0 },
	{ "tls_pop3", DASH_SRC_COUNTER, "postier_tls_connections_total", "proto=pop3", 0 },
	{ "tls_imap", DASH_SRC_COUNTER, "postier_tls_connections_total", "proto=imap", 0 },
	{ "deliv_p50", DASH_SRC_QUANTILE, DASH_DELIVERY_HIST, NULL, 0.50 },
	{ "deliv_p90", DASH_SRC_QUANTILE, DASH_DELIVERY_HIST, NULL, 0.90 },
	{ "deliv_p99", DASH_SRC_QUANTILE, DASH_DELIVERY_HIST, NULL, 0.99 },
	{ "ha_state", DASH_SRC_GAUGE, DASH_HA_STATE_METRIC, NULL, 0 },
};
const size_t dash_layout_ds_count = N_ELEMENTS(dash_layout_ds);

const char *const dash_period_names[DASH_PERIOD_COUNT] = {
	"day", "week", "month", "year"
};

long
dash_period_seconds(enum dash_period p)
{
	static const long secs[DASH_PERIOD_COUNT] = {
		86400, 7 * 86400, 31 * 86400, 365 * 86400
	};
	PASSERT(p < DASH_PERIOD_COUNT);
	return secs[p];
}

#define F1 "%7.2lf%s"
#define F0 "%7.0lf"
#define F2 "%8.2lf"

const struct dash_graph dash_layout_graphs[] = {
	{ "messages", "Messages received and delivered", "messages/s",
		{ "--lower-limit", "0", NULL }, {
		{ "in", "msgs_in", NULL, "AREA", "#7fb3e6", "received (SMTP) ", F2 },
		{ "out", "delivered", NULL, "LINE2", "#1b7a2f", "delivered       ", F2 },
	} },
	{ "bytes", "Bytes received and delivered", "bytes/s",
		{ "--lower-limit", "0", "--base", "1024", NULL }, {
		{ "in", "bytes_in", NULL, "AREA", "#7fb3e6", "received (SMTP) ", F1 },
		{ "out", "bytes_out", NULL, "LINE2", "#1b7a2f", "delivered       ", F1 },
	} },
	{ "queue", "Queue length", "messages",
		{ "--lower-limit", "0", NULL }, {
		{ "q", "queue", NULL, "AREA", "#e0a040", "queued messages ", F0 },
	} },
	{ "queue_age", "Age of the oldest queued message", "seconds",
		{ "--lower-limit", "0", NULL }, {
		{ "age", "queue_age", NULL, "LINE2", "#b03a2e", "oldest message  ", F1 },
	} },
	{ "sessions", "Open sessions per protocol", "sessions",
		{ "--lower-limit", "0", NULL }, {
		{ "smtp", "sess_smtp", NULL, "AREA", "#4e79a7", "SMTP            ", F0 },
		{ "pop3", "sess_pop3", NULL, "STACK", "#f28e2b", "POP3            ", F0 },
		{ "imap", "sess_imap", NULL, "STACK", "#76b7b2", "IMAP            ", F0 },
	} },
	{ "auth_failures", "Failed logins per protocol", "failures/min",
		{ "--lower-limit", "0", NULL }, {
		{ "fs", "authf_smtp", NULL, "", NULL, NULL, NULL },
		{ "fp", "authf_pop3", NULL, "", NULL, NULL, NULL },
		{ "fi", "authf_imap", NULL, "", NULL, NULL, NULL },
		{ "smtp", NULL, "fs,60,*", "LINE2", "#4e79a7", "SMTP            ", F1 },
		{ "pop3", NULL, "fp,60,*", "LINE2", "#f28e2b", "POP3            ", F1 },
		{ "imap", NULL, "fi,60,*", "LINE2", "#af2f8f", "IMAP            ", F1 },
	} },
	{ "delivery_latency", "Delivery latency (queue to mailbox), percentiles",
		"seconds", { "--lower-limit", "0", NULL }, {
		{ "p50", "deliv_p50", NULL, "LINE2", "#2ca02c", "p50             ", F1 },
		{ "p90", "deliv_p90", NULL, "LINE2", "#ff7f0e", "p90             ", F1 },
		{ "p99", "deliv_p99", NULL, "LINE2", "#d62728", "p99             ", F1 },
	} },
	{ "tls_share", "Share of connections using TLS", "percent",
		{ "--lower-limit", "0", "--upper-limit", "100", "--rigid", NULL }, {
		{ "cs", "conn_smtp", NULL, "", NULL, NULL, NULL },
		{ "cp", "conn_pop3", NULL, "", NULL, NULL, NULL },
		{ "ci", "conn_imap", NULL, "", NULL, NULL, NULL },
		{ "ts", "tls_smtp", NULL, "", NULL, NULL, NULL },
		{ "tp", "tls_pop3", NULL, "", NULL, NULL, NULL },
		{ "ti", "tls_imap", NULL, "", NULL, NULL, NULL },
		{ "all", NULL, "cs,cp,ci,+,+,0,GT,ts,tp,ti,+,+,cs,cp,ci,+,+,/,100,*,UNKN,IF",
			"LINE2", "#1f4e9f", "all protocols   ", F1 },
		{ "smtp", NULL, "cs,0,GT,ts,cs,/,100,*,UNKN,IF", "LINE1", "#4e79a7",
			"SMTP            ", F1 },
	} },
	{ "ha_state", "HA state (0 init 1 backup 2 master 3 fault 4 maint.)",
		"state", { "--lower-limit", "0", "--upper-limit", "4", "--rigid",
		"--y-grid", "1:1", NULL }, {
		{ "ha", "ha_state", NULL, "LINE2", "#1f4e9f", "state", NULL },
		{ "nodata", NULL, "ha,UN,INF,UNKN,IF", "AREA", "#f3d88c",
			"unknown / no data (postier_ha_state not exported yet)", NULL },
	} },
};
const size_t dash_layout_graph_count = N_ELEMENTS(dash_layout_graphs);

static void
args_add(char ***argv, int *argc, char *s)
{
	*argv = xrealloc(*argv, sizeof(char *) * (size_t)(*argc + 2));
	(*argv)[(*argc)++] = s;
	(*argv)[*argc] = NULL;
}

/* 4000 rows: no limit at the default 60 s step (1500 rows a day), 66 min of
 * 1 s data when tests use --step 1 */
#define DASH_MAX_RRA_ROWS 4000

int
dash_layout_create_args(long step, char ***argv_r)
{
	/* resolution and span of each archive, seconds */
	static const long rra[][2] = {
		{ 0, 86400 + 3600 },           /* one step, 25 h */
		{ 300, 8 * 86400 },            /* 5 min, 8 days */
		{ 1800, 33 * 86400 },          /* 30 min, 33 days */
		{ 6 * 3600, 370 * 86400 },     /* 6 h, 370 days */
	};
	static const char *const cfs[] = { "AVERAGE", "MAX" };
	char **argv = NULL;
	int argc = 0;
	long heartbeat = step * 2;

	PASSERT(step > 0);
	for (size_t i = 0; i < dash_layout_ds_count; i++) {
		const struct dash_ds *d = &dash_layout_ds[i];
		args_add(&argv, &argc, xasprintf("DS:%s:%s:%ld:0:U", d->ds,
			d->kind == DASH_SRC_COUNTER ? "DERIVE" : "GAUGE", heartbeat));
	}
	for (size_t c = 0; c < N_ELEMENTS(cfs); c++) {
		for (size_t i = 0; i < N_ELEMENTS(rra); i++) {
			long steps = rra[i][0] <= step ? 1 : rra[i][0] / step;
			long rows = rra[i][1] / (steps * step);
			/* a short test step must not make huge files */
			if (rows > DASH_MAX_RRA_ROWS)
				rows = DASH_MAX_RRA_ROWS;
			if (rows < 10)
				rows = 10;
			args_add(&argv, &argc, xasprintf("RRA:%s:0.5:%ld:%ld",
				cfs[c], steps, rows));
		}
	}
	*argv_r = argv;
	return argc;
}

void
dash_layout_free_args(char **argv, int argc)
{
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
}

bool
dash_node_name_is_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > 64 || name[0] == '.')
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"0123456789._-") == len;
}
