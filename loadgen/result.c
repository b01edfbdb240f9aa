/* result.c: verdict, JSON writing and reading, final table (see result.h). */
#include "postier.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "json.h"
#include "result.h"

static const char *const lgop_names[LGOP_COUNT] = {
	"connect", "tls", "auth", "smtp_transaction", "delivery_e2e", "login",
	"fetch", "idle_wake",
};

const char *
lgop_name(enum lgop op)
{
	return lgop_names[op];
}

void
result_init(struct result *r)
{
	memset(r, 0, sizeof(*r));
	for (int i = 0; i < LGOP_COUNT; i++)
		r->lat[i] = hist_new();
	r->sched_lag = hist_new();
	buf_init(&r->capacity_steps);
	r->shards = 1;
}

void
result_clear(struct result *r)
{
	for (int i = 0; i < LGOP_COUNT; i++)
		hist_free(&r->lat[i]);
	hist_free(&r->sched_lag);
	for (size_t i = 0; i < r->n_assumptions; i++)
		free(r->assumptions[i]);
	free(r->assumptions);
	free(r->run_id);
	free(r->profile_name);
	free(r->target);
	free(r->timeseries_csv);
	free(r->rrd);
	buf_clear(&r->capacity_steps);
	memset(r, 0, sizeof(*r));
}

static struct result_slo *
result_add_slo(struct result *r, const char *name)
{
	PASSERT(r->n_slo < RESULT_MAX_SLO);
	struct result_slo *s = &r->slo[r->n_slo++];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	return s;
}

void
result_judge(struct result *r)
{
	const struct lgcounts *c = &r->counts;
	struct result_slo *s;
	r->n_slo = 0;

	s = result_add_slo(r, "smtp_transaction");
	snprintf(s->target, sizeof(s->target), "p%g <= %.0f ms",
		r->slo_smtp_percent, r->slo_smtp_ms);
	const struct hist *smtp = r->lat[LGOP_SMTP];
	double smtp_ms = hist_percentile(smtp, r->slo_smtp_percent) / 1000.0;
	snprintf(s->actual, sizeof(s->actual), "p%g = %.1f ms",
		r->slo_smtp_percent, smtp_ms);
	s->met = hist_count(smtp) > 0 && smtp_ms <= r->slo_smtp_ms;

	s = result_add_slo(r, "delivery");
	snprintf(s->target, sizeof(s->target), "%g%% visible within %.0f s",
		r->slo_delivery_percent, r->slo_delivery_ms / 1000.0);
	if (!r->verification || c->deliveries == 0) {
		snprintf(s->actual, sizeof(s->actual), "not measured");
		s->met = false;
	} else {
		const struct hist *e2e = r->lat[LGOP_E2E];
		double within = hist_fraction_le(e2e,
			(int64_t)(r->slo_delivery_ms * 1000)) *
			(double)hist_count(e2e);
		double pct = 100.0 * within / (double)c->deliveries;
		snprintf(s->actual, sizeof(s->actual), "%.2f%% (p%g = %.1f ms)",
			pct, r->slo_delivery_percent,
			hist_percentile(e2e, r->slo_delivery_percent) / 1000.0);
		s->met = pct + 1e-9 >= r->slo_delivery_percent;
	}

	s = result_add_slo(r, "no_loss");
	snprintf(s->target, sizeof(s->target), "lost + corrupted <= %.0f",
		r->slo_max_lost);
	snprintf(s->actual, sizeof(s->actual), "%llu lost, %llu corrupted",
		(unsigned long long)c->lost, (unsigned long long)c->corrupted);
	s->met = (double)(c->lost + c->corrupted) <= r->slo_max_lost &&
		(r->verification || c->accepted == 0);

	s = result_add_slo(r, "failed");
	double failed_pct = c->scheduled > 0 ?
		100.0 * (double)c->failed / (double)c->scheduled : 0;
	snprintf(s->target, sizeof(s->target), "refused or failed <= %g%%",
		r->slo_max_failed_percent);
	snprintf(s->actual, sizeof(s->actual), "%.2f%% (%llu)", failed_pct,
		(unsigned long long)c->failed);
	s->met = failed_pct <= r->slo_max_failed_percent &&
		c->accepted > 0;

	r->pass = true;
	struct buf t;
	buf_init(&t);
	for (unsigned int i = 0; i < r->n_slo; i++) {
		if (!r->slo[i].met) {
			buf_printf(&t, "%s%s: %s (wanted %s)",
				r->pass ? "" : "; ", r->slo[i].name,
				r->slo[i].actual, r->slo[i].target);
			r->pass = false;
		}
	}
	if (r->pass) {
		snprintf(r->verdict, sizeof(r->verdict), "PASS: all %u service "
			"levels met at %gx speed, scale %g", r->n_slo, r->speed,
			r->scale);
	} else {
		snprintf(r->verdict, sizeof(r->verdict), "FAIL: %s",
			buf_data(&t));
	}
	buf_clear(&t);
}

static void
result_hist_json(struct buf *out, const struct hist *h)
{
	buf_printf(out, "{\"count\":%llu,\"p50\":%.3f,\"p90\":%.3f,"
		"\"p99\":%.3f,\"p999\":%.3f,\"max\":%.3f,\"hist\":\"",
		(unsigned long long)hist_count(h),
		hist_percentile(h, 50) / 1000.0, hist_percentile(h, 90) / 1000.0,
		hist_percentile(h, 99) / 1000.0,
		hist_percentile(h, 99.9) / 1000.0, hist_max(h) / 1000.0);
	hist_encode(h, out);
	buf_append_str(out, "\"}");
}

void
result_to_json(const struct result *r, struct buf *out)
{
	buf_append_str(out, "{\"schema\":\"postier-loadgen-result/1\",\n"
		"\"run_id\":");
	json_append_string(out, r->run_id != NULL ? r->run_id : "");
	buf_append_str(out, ",\n\"profile\":{\"name\":");
	json_append_string(out, r->profile_name != NULL ? r->profile_name : "");
	buf_append_str(out, ",\"assumptions\":[");
	for (size_t i = 0; i < r->n_assumptions; i++) {
		if (i > 0)
			buf_append_char(out, ',');
		json_append_string(out, r->assumptions[i]);
	}
	buf_printf(out, "],\"mailboxes\":%llu,\"messages_per_day\":%llu,"
		"\"window_hours\":%g,\"mean_size_bytes\":%llu},\n\"target\":",
		(unsigned long long)r->mailboxes,
		(unsigned long long)r->messages_per_day, r->window_hours,
		(unsigned long long)r->mean_size_bytes);
	json_append_string(out, r->target != NULL ? r->target : "");
	buf_printf(out, ",\n\"started_unix\":%.3f,\"duration_s\":%.3f,"
		"\"speed\":%g,\"scale\":%g,", r->started_unix, r->duration_s,
		r->speed, r->scale);
	if (r->shards == 0)
		buf_printf(out, "\"shard\":\"all\",\"merged\":%u,", r->merged);
	else
		buf_printf(out, "\"shard\":\"%u/%u\",", r->shard + 1, r->shards);
	const struct lgcounts *c = &r->counts;
	buf_printf(out, "\n\"counts\":{\"scheduled\":%llu,\"sent\":%llu,"
		"\"accepted\":%llu,\"failed\":%llu,\"verified\":%llu,"
		"\"lost\":%llu,\"duplicated\":%llu,\"corrupted\":%llu,"
		"\"deliveries\":%llu},\n\"verification\":%s,\n\"latency_ms\":{",
		(unsigned long long)c->scheduled, (unsigned long long)c->sent,
		(unsigned long long)c->accepted, (unsigned long long)c->failed,
		(unsigned long long)c->verified, (unsigned long long)c->lost,
		(unsigned long long)c->duplicated,
		(unsigned long long)c->corrupted,
		(unsigned long long)c->deliveries,
		r->verification ? "true" : "false");
	for (int i = 0; i < LGOP_COUNT; i++) {
		buf_printf(out, "%s\n \"%s\":", i > 0 ? "," : "", lgop_names[i]);
		result_hist_json(out, r->lat[i]);
	}
	buf_append_str(out, "},\n\"schedule_lag_ms\":");
	result_hist_json(out, r->sched_lag);
	buf_printf(out, ",\n\"slo_params\":{\"smtp_ms\":%g,\"smtp_percent\":%g,"
		"\"delivery_ms\":%g,\"delivery_percent\":%g,\"max_lost\":%g,"
		"\"max_failed_percent\":%g},\n\"slo\":[", r->slo_smtp_ms,
		r->slo_smtp_percent, r->slo_delivery_ms, r->slo_delivery_percent,
		r->slo_max_lost, r->slo_max_failed_percent);
	for (unsigned int i = 0; i < r->n_slo; i++) {
		buf_append_str(out, i > 0 ? ",\n {\"name\":" : "\n {\"name\":");
		json_append_string(out, r->slo[i].name);
		buf_append_str(out, ",\"target\":");
		json_append_string(out, r->slo[i].target);
		buf_append_str(out, ",\"actual\":");
		json_append_string(out, r->slo[i].actual);
		buf_printf(out, ",\"met\":%s}", r->slo[i].met ? "true" : "false");
	}
	buf_printf(out, "],\n\"verdict\":{\"pass\":%s,\"text\":",
		r->pass ? "true" : "false");
	json_append_string(out, r->verdict);
	buf_append_str(out, "},\n\"timeseries_csv\":");
	if (r->timeseries_csv != NULL)
		json_append_string(out, r->timeseries_csv);
	else
		buf_append_str(out, "null");
	buf_append_str(out, ",\"rrd\":");
	if (r->rrd != NULL)
		json_append_string(out, r->rrd);
	else
		buf_append_str(out, "null");
	if (r->has_capacity) {
		buf_printf(out, ",\n\"capacity\":{\"multiple_of_peak\":%g,"
			"\"steps\":[%s]}", r->capacity_multiple,
			buf_data(&r->capacity_steps));
	}
	buf_append_str(out, "}\n");
}

static void
result_set_str(char **dst, const char *s)
{
	if (*dst == NULL && s != NULL)
		*dst = xstrdup(s);
}

int
result_merge_json(struct result *r, const char *text, size_t len,
	char **error_r)
{
	struct json *j = json_parse(text, len, error_r);
	if (j == NULL)
		return -1;
	const char *schema = json_get_string(j, "schema", "");
	const struct json *counts = json_get(j, "counts");
	const struct json *lat = json_get(j, "latency_ms");
	if (strcmp(schema, "postier-loadgen-result/1") != 0 || counts == NULL ||
	    lat == NULL) {
		*error_r = xasprintf("not a postier-loadgen-result/1 document");
		json_free(&j);
		return -1;
	}
	bool first = r->merged == 0;
	const struct json *prof = json_get(j, "profile");
	result_set_str(&r->run_id, json_get_string(j, "run_id", ""));
	result_set_str(&r->profile_name, json_get_string(prof, "name", ""));
	result_set_str(&r->target, json_get_string(j, "target", ""));
	if (first) {
		const struct json *as = json_get(prof, "assumptions");
		for (const struct json *a = as != NULL ? as->child : NULL;
		     a != NULL; a = a->next) {
			if (a->type != JSON_STRING)
				continue;
			r->assumptions = xrealloc(r->assumptions,
				(r->n_assumptions + 1) * sizeof(char *));
			r->assumptions[r->n_assumptions++] = xstrdup(a->string);
		}
		r->mailboxes = (uint64_t)json_get_number(prof, "mailboxes", 0);
		r->messages_per_day = (uint64_t)json_get_number(prof,
			"messages_per_day", 0);
		r->window_hours = json_get_number(prof, "window_hours", 0);
		r->mean_size_bytes = (uint64_t)json_get_number(prof,
			"mean_size_bytes", 0);
		r->speed = json_get_number(j, "speed", 1);
		r->scale = json_get_number(j, "scale", 1);
		r->started_unix = json_get_number(j, "started_unix", 0);
		const struct json *sp = json_get(j, "slo_params");
		r->slo_smtp_ms = json_get_number(sp, "smtp_ms", 5000);
		r->slo_smtp_percent = json_get_number(sp, "smtp_percent", 95);
		r->slo_delivery_ms = json_get_number(sp, "delivery_ms", 60000);
		r->slo_delivery_percent = json_get_number(sp,
			"delivery_percent", 95);
		r->slo_max_lost = json_get_number(sp, "max_lost", 0);
		r->slo_max_failed_percent = json_get_number(sp,
			"max_failed_percent", 1);
		r->verification = true;
	}
	double started = json_get_number(j, "started_unix", 0);
	if (started > 0 && (r->started_unix == 0 || started < r->started_unix))
		r->started_unix = started;
	double d = json_get_number(j, "duration_s", 0);
	if (d > r->duration_s)
		r->duration_s = d;
	const struct json *v = json_get(j, "verification");
	if (v != NULL && v->type == JSON_BOOL && !v->boolean)
		r->verification = false;
	struct lgcounts *c = &r->counts;
	struct {
		const char *name;
		uint64_t *v;
	} fields[] = {
		{ "scheduled", &c->scheduled }, { "sent", &c->sent },
		{ "accepted", &c->accepted }, { "failed", &c->failed },
		{ "verified", &c->verified }, { "lost", &c->lost },
		{ "duplicated", &c->duplicated }, { "corrupted", &c->corrupted },
		{ "deliveries", &c->deliveries },
	};
	for (size_t i = 0; i < N_ELEMENTS(fields); i++)
		*fields[i].v += (uint64_t)json_get_number(counts, fields[i].name,
			0);
	for (int i = 0; i < LGOP_COUNT; i++) {
		const struct json *op = json_get(lat, lgop_names[i]);
		const char *h = json_get_string(op, "hist", NULL);
		const char *err;
		if (h != NULL && hist_decode_add(r->lat[i], h, strlen(h),
						 &err) < 0) {
			*error_r = xasprintf("latency_ms.%s: %s", lgop_names[i],
				err);
			json_free(&j);
			return -1;
		}
	}
	const char *lag = json_get_string(json_get(j, "schedule_lag_ms"), "hist",
		NULL);
	const char *err;
	if (lag != NULL)
		(void)hist_decode_add(r->sched_lag, lag, strlen(lag), &err);
	r->merged++;
	r->shards = 0;
	json_free(&j);
	return 0;
}

void
result_table(const struct result *r, struct buf *out)
{
	const struct lgcounts *c = &r->counts;
	buf_printf(out, "postier-loadgen run %s, profile %s, target %s\n",
		r->run_id != NULL ? r->run_id : "?",
		r->profile_name != NULL ? r->profile_name : "?",
		r->target != NULL ? r->target : "?");
	for (size_t i = 0; i < r->n_assumptions; i++)
		buf_printf(out, "  ASSUMPTION: %s\n", r->assumptions[i]);
	buf_printf(out, "  %.1f s, speed %gx, scale %g, %llu mailboxes\n",
		r->duration_s, r->speed, r->scale,
		(unsigned long long)r->mailboxes);
	buf_printf(out, "  messages: scheduled %llu  sent %llu  accepted %llu"
		"  failed %llu\n  deliveries: expected %llu  verified %llu  "
		"lost %llu  duplicated %llu  corrupted %llu\n",
		(unsigned long long)c->scheduled, (unsigned long long)c->sent,
		(unsigned long long)c->accepted, (unsigned long long)c->failed,
		(unsigned long long)c->deliveries,
		(unsigned long long)c->verified, (unsigned long long)c->lost,
		(unsigned long long)c->duplicated,
		(unsigned long long)c->corrupted);
	buf_printf(out, "  %-17s %8s %9s %9s %9s %9s %9s\n", "latency (ms)",
		"count", "p50", "p90", "p99", "p99.9", "max");
	for (int i = 0; i < LGOP_COUNT; i++) {
		const struct hist *h = r->lat[i];
		if (hist_count(h) == 0)
			continue;
		buf_printf(out, "  %-17s %8llu %9.1f %9.1f %9.1f %9.1f %9.1f\n",
			lgop_names[i], (unsigned long long)hist_count(h),
			hist_percentile(h, 50) / 1000.0,
			hist_percentile(h, 90) / 1000.0,
			hist_percentile(h, 99) / 1000.0,
			hist_percentile(h, 99.9) / 1000.0,
			hist_max(h) / 1000.0);
	}
	for (unsigned int i = 0; i < r->n_slo; i++)
		buf_printf(out, "  [%s] %-17s %s (wanted %s)\n",
			r->slo[i].met ? " ok " : "FAIL", r->slo[i].name,
			r->slo[i].actual, r->slo[i].target);
	if (r->has_capacity)
		buf_printf(out, "  capacity: %gx the profile's busiest hour\n",
			r->capacity_multiple);
	buf_printf(out, "%s\n", r->verdict);
}
