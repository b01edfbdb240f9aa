/* dash_report.c: a load-test run's page. The JSON is read with Jansson
 * (scripts/deps/dashboards.txt says why); fields missing from the JSON are
 * shown as "-" rather than refused, a wrong schema or a file that does not
 * parse is refused. */
#include "postier.h"

#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <rrd.h>

#include "core/buf.h"
#include "core/xmalloc.h"
#include "dash_csv.h"
#include "dash_graph.h"
#include "dash_html.h"
#include "dash_report.h"

#define DASH_REPORT_SCHEMA "postier-loadgen-result/1"

static const struct dash_graph report_graphs[] = {
	{ "rate", "Offered vs achieved rate", "messages/s",
		{ "--lower-limit", "0", NULL }, {
		{ "off", "offered", NULL, "LINE2", "#1f4e9f", "offered (schedule)", "%8.2lf" },
		{ "ach", "achieved", NULL, "LINE2", "#2ca02c", "achieved          ", "%8.2lf" },
	} },
	{ "latency", "Latency percentiles over time", "milliseconds",
		{ "--lower-limit", "0", NULL }, {
		{ "s50", "smtp_p50", NULL, "LINE2", "#2ca02c", "SMTP p50          ", "%8.1lf" },
		{ "s99", "smtp_p99", NULL, "LINE2", "#d62728", "SMTP p99          ", "%8.1lf" },
		{ "e99", "e2e_p99", NULL, "LINE2", "#9467bd", "end-to-end p99    ", "%8.1lf" },
	} },
	{ "errors", "Errors", "errors/s",
		{ "--lower-limit", "0", NULL }, {
		{ "err", "errors", NULL, "AREA", "#d62728", "errors/s          ", "%8.2lf" },
	} },
};

static const char *const report_ds[] = {
	"offered", "achieved", "errors", "smtp_p50", "smtp_p99", "e2e_p99",
};
static const enum dash_csv_col report_cols[] = {
	DASH_CSV_OFFERED, DASH_CSV_ACHIEVED, DASH_CSV_ERRORS,
	DASH_CSV_SMTP_P50, DASH_CSV_SMTP_P99, DASH_CSV_E2E_P99,
};

static void
td_json(struct buf *out, json_t *v, const char *cls)
{
	buf_printf(out, "<td%s%s%s>", cls != NULL ? " class=\"" : "",
		cls != NULL ? cls : "", cls != NULL ? "\"" : "");
	if (json_is_string(v)) {
		dash_html_escape(out, json_string_value(v));
	} else if (json_is_integer(v)) {
		buf_printf(out, "%lld", (long long)json_integer_value(v));
	} else if (json_is_real(v)) {
		buf_printf(out, "%.6g", json_real_value(v));
	} else if (json_is_true(v)) {
		buf_append_str(out, "yes");
	} else if (json_is_false(v)) {
		buf_append_str(out, "no");
	} else if (v == NULL || json_is_null(v)) {
		buf_append_str(out, "&ndash;");
	} else {
		char *s = json_dumps(v, JSON_COMPACT);
		dash_html_escape(out, s != NULL ? s : "?");
		free(s);
	}
	buf_append_str(out, "</td>");
}

static void
row_kv(struct buf *out, const char *key, json_t *v)
{
	buf_append_str(out, "<tr><th>");
	dash_html_escape(out, key);
	buf_append_str(out, "</th>");
	td_json(out, v, NULL);
	buf_append_str(out, "</tr>\n");
}

static void
section_profile(struct buf *out, json_t *root)
{
	json_t *profile = json_object_get(root, "profile");
	static const char *const keys[] = {
		"name", "mailboxes", "messages_per_day", "window_hours",
		"mean_size_bytes",
	};

	buf_append_str(out, "<h2>Profile</h2>\n<table>\n");
	for (size_t i = 0; i < N_ELEMENTS(keys); i++)
		row_kv(out, keys[i], json_object_get(profile, keys[i]));
	buf_append_str(out, "</table>\n");
	json_t *assumptions = json_object_get(profile, "assumptions");
	buf_append_str(out, "<div class=\"note\"><b>Assumptions this run carries"
		"</b> (replace them with your own figures before trusting the "
		"verdict):\n<ul>\n");
	if (json_array_size(assumptions) == 0)
		buf_append_str(out, "<li>none stated in the result file</li>\n");
	for (size_t i = 0; i < json_array_size(assumptions); i++) {
		json_t *a = json_array_get(assumptions, i);
		buf_append_str(out, "<li>");
		if (json_is_string(a)) {
			dash_html_escape(out, json_string_value(a));
		} else {
			char *s = json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY);
			dash_html_escape(out, s != NULL ? s : "?");
			free(s);
		}
		buf_append_str(out, "</li>\n");
	}
	buf_append_str(out, "</ul></div>\n");
}

static void
section_run(struct buf *out, json_t *root)
{
	static const char *const keys[] = {
		"target", "duration_s", "speed", "scale", "shard",
	};
	json_t *started = json_object_get(root, "started_unix");

	buf_append_str(out, "<h2>Run</h2>\n<table>\n");
	row_kv(out, "run_id", json_object_get(root, "run_id"));
	if (json_is_number(started)) {
		char when[64];
		time_t t = (time_t)json_number_value(started);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
		json_t *s = json_string(when);
		row_kv(out, "started", s);
		json_decref(s);
	} else {
		row_kv(out, "started", NULL);
	}
	for (size_t i = 0; i < N_ELEMENTS(keys); i++)
		row_kv(out, keys[i], json_object_get(root, keys[i]));
	buf_append_str(out, "</table>\n");

	static const char *const counts[] = {
		"scheduled", "sent", "accepted", "failed", "verified", "lost",
		"duplicated", "corrupted",
	};
	json_t *c = json_object_get(root, "counts");
	buf_append_str(out, "<h2>Messages</h2>\n<table><tr>");
	for (size_t i = 0; i < N_ELEMENTS(counts); i++)
		buf_printf(out, "<th>%s</th>", counts[i]);
	buf_append_str(out, "</tr>\n<tr>");
	for (size_t i = 0; i < N_ELEMENTS(counts); i++) {
		json_t *v = json_object_get(c, counts[i]);
		bool bad = i >= 5 && json_is_integer(v) && json_integer_value(v) > 0;
		td_json(out, v, bad ? "num bad" : "num");
	}
	buf_append_str(out, "</tr></table>\n");
}

static void
section_latency(struct buf *out, json_t *root)
{
	static const char *const cols[] = { "count", "p50", "p90", "p99", "p999",
		"max" };
	json_t *lat = json_object_get(root, "latency_ms");
	const char *op;
	json_t *v;

	buf_append_str(out, "<h2>Latency (ms, from the scheduled time)</h2>\n"
		"<table><tr><th>operation</th>");
	for (size_t i = 0; i < N_ELEMENTS(cols); i++)
		buf_printf(out, "<th>%s</th>", cols[i]);
	buf_append_str(out, "</tr>\n");
	json_object_foreach(lat, op, v) {
		buf_append_str(out, "<tr><th>");
		dash_html_escape(out, op);
		buf_append_str(out, "</th>");
		for (size_t i = 0; i < N_ELEMENTS(cols); i++)
			td_json(out, json_object_get(v, cols[i]), "num");
		buf_append_str(out, "</tr>\n");
	}
	buf_append_str(out, "</table>\n");
}

static void
section_slo(struct buf *out, json_t *root)
{
	json_t *slo = json_object_get(root, "slo");

	buf_append_str(out, "<h2>Service level objectives</h2>\n<table>"
		"<tr><th>objective</th><th>target</th><th>actual</th><th>met</th></tr>\n");
	for (size_t i = 0; i < json_array_size(slo); i++) {
		json_t *s = json_array_get(slo, i);
		json_t *met = json_object_get(s, "met");
		buf_append_str(out, "<tr>");
		td_json(out, json_object_get(s, "name"), NULL);
		td_json(out, json_object_get(s, "target"), "num");
		td_json(out, json_object_get(s, "actual"), "num");
		td_json(out, met, json_is_true(met) ? "ok" : "bad");
		buf_append_str(out, "</tr>\n");
	}
	if (json_array_size(slo) == 0)
		buf_append_str(out, "<tr><td colspan=\"4\">none in the result file"
			"</td></tr>\n");
	buf_append_str(out, "</table>\n");
	json_t *cap = json_object_get(root, "capacity");
	if (json_is_object(cap)) {
		const char *k;
		json_t *v;
		buf_append_str(out, "<h2>Capacity</h2>\n<table>\n");
		json_object_foreach(cap, k, v)
			row_kv(out, k, v);
		buf_append_str(out, "</table>\n");
	}
}

/* Builds OUT/run.rrd from the CSV. Returns 0 and sets *start_r and *end_r, or
 * -1 with *error_r. */
static int
build_rrd(const struct dash_csv *csv, const char *rrd_path, long *start_r,
	long *end_r, char **error_r)
{
	if (csv->count < 2) {
		*error_r = xasprintf("only %zu row(s) in the time series: nothing to "
			"draw", csv->count);
		return -1;
	}
	/* step: the smallest interval between rows, at least 1 s */
	double min_dt = INFINITY;
	for (size_t i = 1; i < csv->count; i++) {
		double dt = csv->rows[i].v[DASH_CSV_TIME] -
			csv->rows[i - 1].v[DASH_CSV_TIME];
		if (dt < min_dt)
			min_dt = dt;
	}
	long step = min_dt < 1 ? 1 : (long)min_dt;
	long first = (long)csv->rows[0].v[DASH_CSV_TIME];
	long last = (long)csv->rows[csv->count - 1].v[DASH_CSV_TIME];
	long rows = (last - first) / step + 10;
	char *argv[2 * N_ELEMENTS(report_ds) + 2];
	int argc = 0;
	for (size_t i = 0; i < N_ELEMENTS(report_ds); i++)
		argv[argc++] = xasprintf("DS:%s:GAUGE:%ld:0:U", report_ds[i], step * 2);
	argv[argc++] = xasprintf("RRA:AVERAGE:0.5:1:%ld", rows);
	argv[argc++] = xasprintf("RRA:MAX:0.5:1:%ld", rows);
	unlink(rrd_path);
	int ret = rrd_create_r(rrd_path, (unsigned long)step, first - step, argc,
		(const char **)argv);
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	if (ret != 0) {
		*error_r = xasprintf("%s: %s", rrd_path, rrd_get_error());
		rrd_clear_error();
		return -1;
	}
	struct buf line;
	buf_init(&line);
	double prev_t = NAN;
	for (size_t i = 0; i < csv->count; i++) {
		const struct dash_csv_row *r = &csv->rows[i];
		double t = r->v[DASH_CSV_TIME];
		buf_reset(&line);
		buf_printf(&line, "%.3f", t);
		for (size_t k = 0; k < N_ELEMENTS(report_cols); k++) {
			double v = r->v[report_cols[k]];
			/* errors in the row's interval -> errors per second */
			if (report_cols[k] == DASH_CSV_ERRORS && !isnan(v))
				v = isnan(prev_t) ? NAN : v / (t - prev_t);
			if (isnan(v))
				buf_append_str(&line, ":U");
			else
				buf_printf(&line, ":%.17g", v);
		}
		prev_t = t;
		const char *uv[] = { buf_data(&line) };
		if (rrd_update_r(rrd_path, NULL, 1, uv) != 0) {
			*error_r = xasprintf("%s: row %zu: %s", rrd_path, i + 1,
				rrd_get_error());
			rrd_clear_error();
			buf_clear(&line);
			return -1;
		}
	}
	buf_clear(&line);
	*start_r = first;
	*end_r = last;
	return 0;
}

static char *
default_out_dir(const char *json_path)
{
	size_t len = strlen(json_path);

	if (len > 5 && strcmp(json_path + len - 5, ".json") == 0)
		len -= 5;
	return xasprintf("%.*s-report", (int)len, json_path);
}

static char *
csv_path_of(const char *json_path, const char *csv)
{
	if (csv[0] == '/')
		return xstrdup(csv);
	char *copy = xstrdup(json_path);
	char *path = xasprintf("%s/%s", dirname(copy), csv);
	free(copy);
	return path;
}

/* The graphs section. Returns 0, or -1 when some graph is missing (said on
 * the page and on stderr). */
static int
section_graphs(struct buf *out, json_t *root, const struct dash_report_opts *o,
	const char *out_dir)
{
	json_t *csvj = json_object_get(root, "timeseries_csv");
	struct dash_csv csv;
	char *error = NULL, *csv_path = NULL, *rrd_path = NULL;
	long start, end;
	int ret = -1;

	buf_append_str(out, "<h2>Over time</h2>\n");
	if (!json_is_string(csvj)) {
		error = xstrdup("the result has no timeseries_csv");
		goto fail;
	}
	csv_path = csv_path_of(o->json_path, json_string_value(csvj));
	if (dash_csv_load(&csv, csv_path, &error) < 0)
		goto fail;
	rrd_path = xasprintf("%s/run.rrd", out_dir);
	int built = build_rrd(&csv, rrd_path, &start, &end, &error);
	dash_csv_clear(&csv);
	if (built < 0)
		goto fail;

	struct dash_graph_opts go = { o->width, o->height };
	ret = 0;
	buf_append_str(out, "<div class=\"grid\">\n");
	for (size_t i = 0; i < N_ELEMENTS(report_graphs); i++) {
		const struct dash_graph *g = &report_graphs[i];
		char *png = xasprintf("%s/%s.png", out_dir, g->id);
		char *gerr = NULL;
		if (dash_graph_draw(g, rrd_path, g->title, start, end, &go, png,
		    &gerr) < 0) {
			fprintf(stderr, "postier-dash: report: graph %s: %s\n", g->id, gerr);
			buf_append_str(out, "<div class=\"card err\">");
			dash_html_escape(out, g->title);
			buf_append_str(out, ": ");
			dash_html_escape(out, gerr);
			buf_append_str(out, "</div>\n");
			free(gerr);
			ret = -1;
		} else {
			buf_printf(out, "<div class=\"card\"><img src=\"%s.png\" alt=\"",
				g->id);
			dash_html_escape(out, g->title);
			buf_append_str(out, "\"></div>\n");
		}
		free(png);
	}
	buf_append_str(out, "</div>\n");
	free(csv_path);
	free(rrd_path);
	return ret;
fail:
	fprintf(stderr, "postier-dash: report: no graphs: %s\n", error);
	buf_append_str(out, "<p class=\"err\">No graphs: ");
	dash_html_escape(out, error);
	buf_append_str(out, "</p>\n");
	free(error);
	free(csv_path);
	free(rrd_path);
	return -1;
}

int
dash_report_run(const struct dash_report_opts *o)
{
	json_error_t jerr;
	json_t *root = json_load_file(o->json_path, JSON_REJECT_DUPLICATES, &jerr);
	int ret = -1;

	if (root == NULL) {
		fprintf(stderr, "postier-dash: report: %s: line %d column %d: %s\n",
			o->json_path, jerr.line, jerr.column, jerr.text);
		return -1;
	}
	json_t *schema = json_object_get(root, "schema");
	if (!json_is_string(schema) ||
	    strcmp(json_string_value(schema), DASH_REPORT_SCHEMA) != 0) {
		fprintf(stderr, "postier-dash: report: %s: not a postier-loadgen result "
			"(schema is %s, expected %s)\n", o->json_path,
			json_is_string(schema) ? json_string_value(schema) : "missing",
			DASH_REPORT_SCHEMA);
		json_decref(root);
		return -1;
	}
	char *out_dir = o->out_dir != NULL ? xstrdup(o->out_dir) :
		default_out_dir(o->json_path);
	if (mkdir(out_dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "postier-dash: report: cannot create %s: %s\n", out_dir,
			strerror(errno));
		goto out;
	}

	struct buf page;
	buf_init(&page);
	json_t *run_id = json_object_get(root, "run_id");
	const char *id = json_is_string(run_id) ? json_string_value(run_id) : "?";
	char *title = xasprintf("Load-test run %s", id);
	dash_html_begin(&page, title);
	buf_append_str(&page, "<h1>");
	dash_html_escape(&page, title);
	buf_append_str(&page, "</h1>\n");
	free(title);

	json_t *verdict = json_object_get(root, "verdict");
	json_t *pass = json_object_get(verdict, "pass");
	json_t *text = json_object_get(verdict, "text");
	buf_printf(&page, "<p class=\"card\">Verdict: <span class=\"%s\">%s</span> ",
		json_is_true(pass) ? "ok" : json_is_false(pass) ? "bad" : "warn",
		json_is_true(pass) ? "PASS" : json_is_false(pass) ? "FAIL" : "UNKNOWN");
	if (json_is_string(text))
		dash_html_escape(&page, json_string_value(text));
	buf_append_str(&page, "</p>\n");

	int graphs = section_graphs(&page, root, o, out_dir);
	section_run(&page, root);
	section_slo(&page, root);
	section_latency(&page, root);
	section_profile(&page, root);
	dash_html_end(&page);

	char *path = xasprintf("%s/index.html", out_dir);
	if (dash_write_file(path, buf_data(&page), buf_len(&page)) < 0) {
		fprintf(stderr, "postier-dash: report: cannot write %s: %s\n", path,
			strerror(errno));
	} else {
		printf("%s\n", path);
		ret = graphs < 0 ? 1 : 0;
	}
	free(path);
	buf_clear(&page);
out:
	free(out_dir);
	json_decref(root);
	return ret;
}
