/* check_postier_queue: queue length and age of the oldest queued message,
 * read from postierd's GET /metrics (postier_queue_messages and
 * postier_queue_oldest_age_seconds, docs/metrics.md). -w/-c apply to the
 * number of messages, -W/-C to the age in seconds. */
#include "postier.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "http.h"
#include "plugin.h"
#include "proto/openmetrics.h"

enum { OPT_AGE_WARN = 'W', OPT_AGE_CRIT = 'C' };

struct queue {
	struct plugin_admin admin;
	struct threshold age;
	struct openmetrics_doc *doc;
};

static const struct plugin_option queue_options[] = {
	{ "url", PLUGIN_ADMIN_OPT_URL, true, "URL",
		"Admin endpoint base URL instead of http://HOST:PORT" },
	{ "token-file", PLUGIN_ADMIN_OPT_TOKEN_FILE, true, "PATH",
		"File holding the bearer token (needed off loopback)" },
	{ "age-warning", OPT_AGE_WARN, true, "RANGE",
		"Warning range for the oldest message's age, seconds" },
	{ "age-critical", OPT_AGE_CRIT, true, "RANGE",
		"Critical range for the oldest message's age, seconds" },
};

static int
on_option(struct plugin *p, int key, const char *arg, void *context)
{
	struct queue *q = context;
	const char *why;

	if (plugin_admin_option(&q->admin, key, arg) == 1)
		return 0;
	struct threshold_range *r = key == OPT_AGE_WARN ? &q->age.warn :
		&q->age.crit;
	if (threshold_range_parse(arg, r, &why) < 0)
		plugin_usage_error(p, "bad -%c '%s': %s", key, arg, why);
	if (key == OPT_AGE_WARN)
		q->age.has_warn = true;
	else
		q->age.has_crit = true;
	return 0;
}

static void
cleanup(void *context)
{
	struct queue *q = context;
	plugin_admin_clear(&q->admin);
	openmetrics_free(&q->doc);
}

/* Returns 1 and the value of the series without labels, 0 if absent. */
static int
find_value(const struct openmetrics_doc *doc, const char *name, double *v_r)
{
	for (size_t i = 0; i < doc->n_samples; i++) {
		if (strcmp(doc->samples[i].name, name) == 0) {
			*v_r = doc->samples[i].value;
			return 1;
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct plugin p;
	struct queue q;

	memset(&q, 0, sizeof(q));
	threshold_init(&q.age);
	plugin_init(&p, "check_postier_queue", "POSTIER_QUEUE");
	p.usage = "(-p ADMIN_PORT [-H HOST] | -u URL) [--token-file PATH] "
		"[-w MESSAGES] [-c MESSAGES] [-W SECONDS] [-C SECONDS]";
	p.blurb = "Reads postierd's GET /metrics: postier_queue_messages "
		"against -w/-c and\npostier_queue_oldest_age_seconds against "
		"-W/-C (Nagios ranges).";
	p.cleanup = cleanup;
	p.cleanup_context = &q;
	plugin_parse_args(&p, argc, argv,
		PLUGIN_COMMON_HOST | PLUGIN_COMMON_THRESHOLDS, queue_options,
		N_ELEMENTS(queue_options), on_option, &q);
	plugin_admin_check(&p, &q.admin);
	plugin_start_timer(&p);

	double time_s;
	q.doc = plugin_admin_metrics(&p, &q.admin, &time_s);
	double messages, age;
	if (find_value(q.doc, "postier_queue_messages", &messages) != 1)
		plugin_exit(&p, PLUGIN_STATE_UNKNOWN,
			"postier_queue_messages not in /metrics (%zu series "
			"read)", q.doc->n_samples);
	if (find_value(q.doc, "postier_queue_oldest_age_seconds", &age) != 1)
		age = 0;
	enum plugin_state s1 = plugin_perf_add(&p, "messages", messages, "",
		&p.threshold, 0, NAN);
	enum plugin_state s2 = plugin_perf_add(&p, "oldest_age", age, "s",
		&q.age, 0, NAN);
	plugin_perf_add(&p, "time", time_s, "s", NULL, 0, NAN);
	enum plugin_state state = plugin_state_worst(s1, s2);
	plugin_exit(&p, state, "%.0f message%s in the queue, oldest %.0f s%s",
		messages, messages == 1 ? "" : "s", age,
		state == PLUGIN_STATE_OK ? "" :
		s1 != PLUGIN_STATE_OK && s2 != PLUGIN_STATE_OK ?
		" (length and age beyond thresholds)" :
		s1 != PLUGIN_STATE_OK ? " (length beyond thresholds)" :
		" (age beyond thresholds)");
}
