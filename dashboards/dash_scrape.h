/* dash_scrape.h: one scrape of a node's /metrics, reduced to the values of
 * the node's RRD data sources (dash_layout.h). Samples come from an
 * OpenMetrics text parser; this module only picks the ones it graphs and
 * keeps the delivery histogram's buckets for the percentiles. No I/O. */
#ifndef DASH_SCRAPE_H
#define DASH_SCRAPE_H

#include <stddef.h>
#include "postier.h"
#include "core/buf.h"
#include "dash_quantile.h"

#define DASH_MAX_DS 32
#define DASH_MAX_BUCKETS 64

struct dash_label {
	const char *name;
	const char *value;
};

struct dash_scrape {
	double value[DASH_MAX_DS]; /* NAN: not in the scrape (stored unknown) */
	struct dash_bucket buckets[DASH_MAX_BUCKETS];
	size_t bucket_count;
	bool buckets_overflow;
};

void dash_scrape_init(struct dash_scrape *s);

/* Takes one sample (labels borrowed for the call). Samples that no data
 * source uses are ignored. */
void dash_scrape_add_sample(struct dash_scrape *s, const char *name,
	const struct dash_label *labels, size_t label_count, double value);

/* Parses an OpenMetrics / Prometheus text body (lib/proto/openmetrics.h,
 * which skips malformed lines) and adds every sample. Returns 0, or -1 with
 * *error_r (heap) when the body holds no sample at all. */
int dash_scrape_parse(struct dash_scrape *s, const char *text, size_t len,
	char **error_r);

/* Fills the percentile data sources from the buckets of prev (the previous
 * scrape of the same node, or NULL) and s. Unknown when prev is NULL, when
 * nothing was delivered in between or when the server restarted. */
void dash_scrape_quantiles(struct dash_scrape *s, const struct dash_scrape *prev);

/* Appends "TIME:v1:v2:..." (rrd_update's format, U for unknown). */
void dash_scrape_format_update(const struct dash_scrape *s, double time,
	struct buf *out);
/* Appends "TIME:U:U:..." for a failed scrape. */
void dash_scrape_format_unknown(double time, struct buf *out);

/* Histogram state kept between runs of `collect --once` (cron): one
 * "le count" line per bucket. Returns 0 or -1 (load: missing file is -1). */
int dash_scrape_save_buckets(const struct dash_scrape *s, const char *path);
int dash_scrape_load_buckets(struct dash_scrape *s, const char *path);

#endif
