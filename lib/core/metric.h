/* metric.h: the process-wide metrics registry.
 *
 * Every series is declared once in core/metric_names.def (the contract that
 * docs/metrics.md documents). Updates are lock-free atomics, callable from any
 * thread. metric_render() writes OpenMetrics text for GET /metrics. */
#ifndef CORE_METRIC_H
#define CORE_METRIC_H

#include <stdint.h>
#include "postier.h"
#include "core/buf.h"

enum metric_id {
#define METRIC(id, name, type, labels, unit, help) METRIC_##id,
#include "core/metric_names.def"
#undef METRIC
	METRIC_COUNT
};

enum metric_type {
	METRIC_TYPE_COUNTER,
	METRIC_TYPE_GAUGE,
	METRIC_TYPE_HIST_SECONDS,
	METRIC_TYPE_HIST_COUNT,
};

struct metric_desc {
	const char *name;   /* sample name; counters end in _total */
	enum metric_type type;
	const char *labels; /* OpenMetrics label text or "" */
	const char *unit;   /* "", "seconds", "bytes" */
	const char *help;
};

/* The table of metric_names.def, indexed by enum metric_id. */
extern const struct metric_desc metric_descs[METRIC_COUNT];

void metric_add(enum metric_id id, uint64_t n);
static inline void
metric_inc(enum metric_id id)
{
	metric_add(id, 1);
}
void metric_gauge_set(enum metric_id id, int64_t value);
void metric_gauge_add(enum metric_id id, int64_t delta);
/* Histograms: seconds for HIST_SECONDS, a count for HIST_COUNT. */
void metric_observe(enum metric_id id, double value);

/* Current value of a counter or gauge (tests, /status). */
int64_t metric_value(enum metric_id id);
/* Histogram sample count and sum. */
uint64_t metric_hist_count(enum metric_id id);
double metric_hist_sum(enum metric_id id);

/* Called by metric_render() before writing, to refresh computed gauges
 * (queue length, oldest age). One hook; NULL to remove. */
void metric_set_collect_hook(void (*hook)(void *context), void *context);

/* Appends all series as OpenMetrics text, ending with "# EOF\n". */
void metric_render(struct buf *out);
#define METRIC_CONTENT_TYPE \
	"application/openmetrics-text; version=1.0.0; charset=utf-8"

/* Resets every value to 0 (tests only). */
void metric_reset_all(void);

#endif
