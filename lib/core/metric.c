/* metric.c: atomic counters, gauges and fixed-bucket histograms, rendered as
 * OpenMetrics text (https://openmetrics.io, text format 1.0.0). */
#include "postier.h"

#include <stdatomic.h>
#include <string.h>

#include "core/metric.h"

const struct metric_desc metric_descs[METRIC_COUNT] = {
#define METRIC(id, name_, type_, labels_, unit_, help_) \
	[METRIC_##id] = { .name = name_, .type = METRIC_TYPE_##type_, \
		.labels = labels_, .unit = unit_, .help = help_ },
#include "core/metric_names.def"
#undef METRIC
};

/* Upper bounds of histogram buckets; +Inf is implicit. */
static const double metric_bounds_seconds[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
	10, 30, 60,
};
static const double metric_bounds_count[] = {
	1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024,
};
#define METRIC_MAX_BUCKETS 16 /* the longest bounds list, plus +Inf */

struct metric_hist {
	_Atomic uint64_t buckets[METRIC_MAX_BUCKETS]; /* not cumulative */
	_Atomic uint64_t count;
	_Atomic uint64_t sum_micro; /* sum * 1e6, to stay atomic */
};

static _Atomic int64_t metric_values[METRIC_COUNT];
static struct metric_hist metric_hists[METRIC_COUNT];
static void (*metric_hook)(void *context);
static void *metric_hook_context;

void
metric_add(enum metric_id id, uint64_t n)
{
	PASSERT(metric_descs[id].type == METRIC_TYPE_COUNTER);
	atomic_fetch_add_explicit(&metric_values[id], (int64_t)n,
		memory_order_relaxed);
}

void
metric_gauge_set(enum metric_id id, int64_t value)
{
	PASSERT(metric_descs[id].type == METRIC_TYPE_GAUGE);
	atomic_store_explicit(&metric_values[id], value, memory_order_relaxed);
}

void
metric_gauge_add(enum metric_id id, int64_t delta)
{
	PASSERT(metric_descs[id].type == METRIC_TYPE_GAUGE);
	atomic_fetch_add_explicit(&metric_values[id], delta,
		memory_order_relaxed);
}

static const double *
metric_bounds(enum metric_type type, size_t *count_r)
{
	if (type == METRIC_TYPE_HIST_SECONDS) {
		*count_r = N_ELEMENTS(metric_bounds_seconds);
		return metric_bounds_seconds;
	}
	PASSERT(type == METRIC_TYPE_HIST_COUNT);
	*count_r = N_ELEMENTS(metric_bounds_count);
	return metric_bounds_count;
}

void
metric_observe(enum metric_id id, double value)
{
	size_t n;
	const double *bounds = metric_bounds(metric_descs[id].type, &n);
	struct metric_hist *h = &metric_hists[id];
	size_t i = 0;
	while (i < n && value > bounds[i])
		i++;
	atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
	if (value > 0) {
		atomic_fetch_add_explicit(&h->sum_micro,
			(uint64_t)(value * 1e6 + 0.5), memory_order_relaxed);
	}
}

int64_t
metric_value(enum metric_id id)
{
	return atomic_load_explicit(&metric_values[id], memory_order_relaxed);
}

uint64_t
metric_hist_count(enum metric_id id)
{
	return atomic_load_explicit(&metric_hists[id].count, memory_order_relaxed);
}

double
metric_hist_sum(enum metric_id id)
{
	return (double)atomic_load_explicit(&metric_hists[id].sum_micro,
		memory_order_relaxed) / 1e6;
}

void
metric_set_collect_hook(void (*hook)(void *context), void *context)
{
	metric_hook = hook;
	metric_hook_context = context;
}

/* The family name: the sample name without a counter's _total. */
static void
metric_family(const struct metric_desc *d, struct buf *out)
{
	size_t len = strlen(d->name);
	if (d->type == METRIC_TYPE_COUNTER && len > 6 &&
		strcmp(d->name + len - 6, "_total") == 0)
		len -= 6;
	buf_append(out, d->name, len);
}

static void
metric_render_hist(const struct metric_desc *d, enum metric_id id,
	struct buf *out)
{
	size_t n;
	const double *bounds = metric_bounds(d->type, &n);
	struct metric_hist *h = &metric_hists[id];
	const char *sep = d->labels[0] != '\0' ? "," : "";
	uint64_t cumulative = 0;

	for (size_t i = 0; i <= n; i++) {
		cumulative += atomic_load_explicit(&h->buckets[i],
			memory_order_relaxed);
		buf_printf(out, "%s_bucket{%s%sle=\"", d->name, d->labels, sep);
		if (i < n)
			buf_printf(out, "%g", bounds[i]);
		else
			buf_append_str(out, "+Inf");
		buf_printf(out, "\"} %llu\n", (unsigned long long)cumulative);
	}
	/* count is read after the buckets: it may only be >= their sum. */
	uint64_t count = atomic_load_explicit(&h->count, memory_order_relaxed);
	if (count < cumulative)
		count = cumulative;
	const char *lb = d->labels[0] != '\0' ? "{" : "";
	const char *rb = d->labels[0] != '\0' ? "}" : "";
	buf_printf(out, "%s_count%s%s%s %llu\n", d->name, lb, d->labels, rb,
		(unsigned long long)count);
	buf_printf(out, "%s_sum%s%s%s %.6f\n", d->name, lb, d->labels, rb,
		metric_hist_sum(id));
}

void
metric_render(struct buf *out)
{
	static const char *const type_names[] = {
		[METRIC_TYPE_COUNTER] = "counter",
		[METRIC_TYPE_GAUGE] = "gauge",
		[METRIC_TYPE_HIST_SECONDS] = "histogram",
		[METRIC_TYPE_HIST_COUNT] = "histogram",
	};
	if (metric_hook != NULL)
		metric_hook(metric_hook_context);

	for (int id = 0; id < METRIC_COUNT; id++) {
		const struct metric_desc *d = &metric_descs[id];
		bool first = id == 0 || strcmp(metric_descs[id - 1].name,
			d->name) != 0;
		if (first) {
			buf_append_str(out, "# TYPE ");
			metric_family(d, out);
			buf_printf(out, " %s\n", type_names[d->type]);
			if (d->unit[0] != '\0') {
				buf_append_str(out, "# UNIT ");
				metric_family(d, out);
				buf_printf(out, " %s\n", d->unit);
			}
			buf_append_str(out, "# HELP ");
			metric_family(d, out);
			buf_printf(out, " %s\n", d->help);
		}
		if (d->type == METRIC_TYPE_HIST_SECONDS ||
			d->type == METRIC_TYPE_HIST_COUNT) {
			metric_render_hist(d, (enum metric_id)id, out);
			continue;
		}
		if (d->labels[0] != '\0')
			buf_printf(out, "%s{%s} %lld\n", d->name, d->labels,
				(long long)metric_value((enum metric_id)id));
		else
			buf_printf(out, "%s %lld\n", d->name,
				(long long)metric_value((enum metric_id)id));
	}
	buf_append_str(out, "# EOF\n");
}

void
metric_reset_all(void)
{
	for (int id = 0; id < METRIC_COUNT; id++) {
		atomic_store(&metric_values[id], 0);
		struct metric_hist *h = &metric_hists[id];
		for (size_t i = 0; i < METRIC_MAX_BUCKETS; i++)
			atomic_store(&h->buckets[i], 0);
		atomic_store(&h->count, 0);
		atomic_store(&h->sum_micro, 0);
	}
}
