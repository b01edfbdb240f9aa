/* check_postier_metric: any series of postierd's GET /metrics (or any
 * OpenMetrics/Prometheus endpoint), chosen by name and label filters, as a
 * value or as a rate per second between two runs (kept in a state file).
 * Several matching series are summed. */
#include "postier.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/xmalloc.h"
#include "http.h"
#include "plugin.h"
#include "proto/openmetrics.h"

#define MAX_FILTERS 16

enum {
	OPT_METRIC = 'm',
	OPT_LABEL = 'l',
	OPT_RATE = 3000,
	OPT_STATE_FILE,
	OPT_PERF_LABEL,
	OPT_UOM,
};

struct metric_check {
	struct plugin_admin admin;
	const char *name;
	struct openmetrics_label filters[MAX_FILTERS];
	size_t n_filters;
	bool rate;
	const char *state_file;
	char *state_file_owned;
	const char *perf_label;
	const char *uom;
	struct openmetrics_doc *doc;
};

static const struct plugin_option metric_options[] = {
	{ "url", PLUGIN_ADMIN_OPT_URL, true, "URL",
		"Metrics endpoint base URL instead of http://HOST:PORT" },
	{ "token-file", PLUGIN_ADMIN_OPT_TOKEN_FILE, true, "PATH",
		"File holding the bearer token (needed off loopback)" },
	{ "metric", OPT_METRIC, true, "NAME",
		"Sample name, e.g. postier_connections_total (required)" },
	{ "label", OPT_LABEL, true, "NAME=VALUE",
		"Only series with this label value (repeat for several)" },
	{ "rate", OPT_RATE, false, NULL,
		"Check the rate per second since the previous run instead "
		"of the value" },
	{ "state-file", OPT_STATE_FILE, true, "PATH",
		"Where --rate keeps the previous sample (default: "
		"$TMPDIR or /var/tmp, named after the query)" },
	{ "perf-label", OPT_PERF_LABEL, true, "LABEL",
		"Perfdata label (default: the metric name, with _rate)" },
	{ "uom", OPT_UOM, true, "UOM",
		"Perfdata unit (s, ms, B, %, c...; default c for a counter's value, else none)" },
};

static int
on_option(struct plugin *p, int key, const char *arg, void *context)
{
	struct metric_check *m = context;

	if (plugin_admin_option(&m->admin, key, arg) == 1)
		return 0;
	switch (key) {
	case OPT_METRIC:
		m->name = arg;
		return 0;
	case OPT_LABEL: {
		const char *eq = strchr(arg, '=');
		if (eq == NULL || eq == arg)
			plugin_usage_error(p, "bad -l '%s' (NAME=VALUE)", arg);
		if (m->n_filters == MAX_FILTERS)
			plugin_usage_error(p, "at most %d -l", MAX_FILTERS);
		struct openmetrics_label *f = &m->filters[m->n_filters++];
		f->name = xstrndup(arg, (size_t)(eq - arg));
		const char *v = eq + 1;
		size_t vlen = strlen(v);
		if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"')
			f->value = xstrndup(v + 1, vlen - 2);
		else
			f->value = xstrdup(v);
		return 0;
	}
	case OPT_RATE:
		m->rate = true;
		return 0;
	case OPT_STATE_FILE:
		m->state_file = arg;
		return 0;
	case OPT_PERF_LABEL:
		m->perf_label = arg;
		return 0;
	case OPT_UOM:
		if (strlen(arg) >= sizeof(((struct plugin_perf *)0)->uom) ||
		    strpbrk(arg, "0123456789;'= ") != NULL)
			plugin_usage_error(p, "bad --uom '%s'", arg);
		m->uom = arg;
		return 0;
	}
	return -1;
}

static void
cleanup(void *context)
{
	struct metric_check *m = context;
	plugin_admin_clear(&m->admin);
	for (size_t i = 0; i < m->n_filters; i++) {
		free(m->filters[i].name);
		free(m->filters[i].value);
	}
	free(m->state_file_owned);
	openmetrics_free(&m->doc);
}

/* FNV-1a of the query, so two services checking different series do not
 * share a state file. */
static uint64_t
query_hash(const struct plugin *p, const struct metric_check *m)
{
	struct buf b;
	buf_init(&b);
	char *url = plugin_admin_url(p, &m->admin, "/metrics");
	buf_printf(&b, "%s\n%s\n", url, m->name);
	free(url);
	for (size_t i = 0; i < m->n_filters; i++)
		buf_printf(&b, "%s=%s\n", m->filters[i].name,
			m->filters[i].value);
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < buf_len(&b); i++) {
		h ^= (unsigned char)buf_data(&b)[i];
		h *= 1099511628211ULL;
	}
	buf_clear(&b);
	return h;
}

/* State file: "postier-metric-state 1\n<unix seconds> <value>\n".
 * Returns 1 with the previous sample, 0 when there is none (or it is not
 * ours), -1 when it cannot be read. */
static int
read_state(const char *path, double *t_r, double *v_r)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return errno == ENOENT ? 0 : -1;
	char line1[64], line2[128];
	int ret = 0;
	if (fgets(line1, sizeof(line1), f) != NULL &&
	    strcmp(line1, "postier-metric-state 1\n") == 0 &&
	    fgets(line2, sizeof(line2), f) != NULL &&
	    sscanf(line2, "%lf %lf", t_r, v_r) == 2 && isfinite(*t_r))
		ret = 1;
	fclose(f);
	return ret;
}

/* Written to a temporary name and renamed, so a concurrent run never reads
 * half a file. Returns 0 or -1. */
static int
write_state(const char *path, double t, double v)
{
	char *tmp = xasprintf("%s.%ld.tmp", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		free(tmp);
		return -1;
	}
	char text[160];
	int n = snprintf(text, sizeof(text),
		"postier-metric-state 1\n%.6f %.17g\n", t, v);
	bool ok = write(fd, text, (size_t)n) == n;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) < 0) {
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	struct plugin p;
	struct metric_check m;

	memset(&m, 0, sizeof(m));
	plugin_init(&p, "check_postier_metric", "POSTIER_METRIC");
	p.usage = "(-p ADMIN_PORT [-H HOST] | -u URL) -m NAME "
		"[-l LABEL=VALUE]... [--rate [--state-file PATH]] "
		"[-w RANGE] [-c RANGE]";
	p.blurb = "Reads one series of GET /metrics (several matching series "
		"are summed) and\nchecks its value, or with --rate its rate per "
		"second since the previous run,\nagainst -w/-c.";
	p.cleanup = cleanup;
	p.cleanup_context = &m;
	plugin_parse_args(&p, argc, argv,
		PLUGIN_COMMON_HOST | PLUGIN_COMMON_THRESHOLDS, metric_options,
		N_ELEMENTS(metric_options), on_option, &m);
	if (m.name == NULL)
		plugin_usage_error(&p, "-m NAME is required");
	plugin_admin_check(&p, &m.admin);
	if (m.rate && m.state_file == NULL) {
		const char *dir = getenv("TMPDIR");
		if (dir == NULL || *dir == '\0')
			dir = "/var/tmp";
		m.state_file_owned = xasprintf("%s/check_postier_metric-%016llx"
			".state", dir, (unsigned long long)query_hash(&p, &m));
		m.state_file = m.state_file_owned;
	}
	plugin_start_timer(&p);

	double time_s;
	m.doc = plugin_admin_metrics(&p, &m.admin, &time_s);
	double sum = 0;
	size_t matched = 0;
	bool counter = false;
	for (size_t i = 0; i < m.doc->n_samples; i++) {
		const struct openmetrics_sample *s = &m.doc->samples[i];
		if (strcmp(s->name, m.name) != 0 ||
		    !openmetrics_labels_match(s, m.filters, m.n_filters))
			continue;
		sum += s->value;
		matched++;
		counter = s->type == OPENMETRICS_TYPE_COUNTER;
		if (p.verbose >= 2) {
			struct buf b;
			buf_init(&b);
			for (size_t k = 0; k < s->n_labels; k++)
				buf_printf(&b, "%s%s=\"%s\"", k ? "," : "",
					s->labels[k].name, s->labels[k].value);
			plugin_debug(&p, 2, "%s{%s} %g", s->name, buf_data(&b),
				s->value);
			buf_clear(&b);
		}
	}
	struct buf what;
	buf_init(&what);
	buf_append_str(&what, m.name);
	if (m.n_filters > 0) {
		buf_append_char(&what, '{');
		for (size_t i = 0; i < m.n_filters; i++)
			buf_printf(&what, "%s%s=\"%s\"", i ? "," : "",
				m.filters[i].name, m.filters[i].value);
		buf_append_char(&what, '}');
	}
	if (matched == 0) {
		char *text = xasprintf("no series %s in /metrics (%zu series "
			"read)", buf_data(&what), m.doc->n_samples);
		buf_clear(&what);
		plugin_exit_owned(&p, PLUGIN_STATE_UNKNOWN, text);
	}
	/* the guidelines' UOM "c" marks a continuous counter */
	const char *uom = m.uom != NULL ? m.uom : counter && !m.rate ? "c" : "";
	char *label;
	if (!m.rate) {
		label = xstrdup(m.perf_label != NULL ? m.perf_label : m.name);
		enum plugin_state state = plugin_perf_add(&p, label, sum, uom,
			&p.threshold, NAN, NAN);
		free(label);
		struct buf num;
		buf_init(&num);
		plugin_format_number(&num, sum);
		char *text = xasprintf("%s = %s%s%s", buf_data(&what),
			buf_data(&num), m.uom != NULL ? m.uom : "", matched > 1 ?
			" (sum of several series)" : "");
		buf_clear(&num);
		buf_clear(&what);
		plugin_exit_owned(&p, state, text);
	}

	double t = now_s(), prev_t, prev_v;
	int got = read_state(m.state_file, &prev_t, &prev_v);
	if (write_state(m.state_file, t, sum) < 0) {
		char *text = xasprintf("cannot write state file %s: %s",
			m.state_file, strerror(errno));
		buf_clear(&what);
		plugin_exit_owned(&p, PLUGIN_STATE_UNKNOWN, text);
	}
	if (got < 0) {
		char *text = xasprintf("cannot read state file %s",
			m.state_file);
		buf_clear(&what);
		plugin_exit_owned(&p, PLUGIN_STATE_UNKNOWN, text);
	}
	if (got == 0 || t - prev_t <= 0 || sum < prev_v) {
		/* First run, clock step or counter reset: nothing to compare
		 * with yet; the guidelines' "assume OK" of rate checks. */
		char *text = xasprintf("%s: %s, rate available from the next "
			"run", buf_data(&what), got == 0 ?
			"first sample stored" : sum < prev_v ?
			"counter reset" : "clock went back");
		buf_clear(&what);
		plugin_exit_owned(&p, PLUGIN_STATE_OK, text);
	}
	double rate = (sum - prev_v) / (t - prev_t);
	label = m.perf_label != NULL ? xstrdup(m.perf_label) :
		xasprintf("%s_rate", m.name);
	enum plugin_state state = plugin_perf_add(&p, label, rate, uom,
		&p.threshold, NAN, NAN);
	free(label);
	char *text = xasprintf("%s rate %.3f%s/s over %.0f s", buf_data(&what),
		rate, uom, t - prev_t);
	buf_clear(&what);
	plugin_exit_owned(&p, state, text);
}
