/* hist.h: latency histograms that keep every sample with bounded relative
 * error (HDR-style log-linear buckets) and merge exactly.
 *
 * Values are integers (microseconds by convention) from 0 to HIST_MAX_VALUE
 * (1 hour in µs; larger values are counted in the top bucket, max stays
 * exact). Values below 2^HIST_SUB_BITS are exact; above, each power of two
 * is cut into 2^HIST_SUB_BITS linear buckets, so a reported percentile is
 * within 1/2^(HIST_SUB_BITS+1) (0.4%) of a recorded value. Two histograms
 * merge by adding bucket counts, so shards' histograms combine into exactly
 * the histogram of all their samples. Not thread-safe: one per thread, merge
 * afterwards. */
#ifndef CORE_HIST_H
#define CORE_HIST_H

#include <stdint.h>
#include "postier.h"
#include "core/buf.h"

#define HIST_SUB_BITS 7
#define HIST_MAX_VALUE 3600000000LL	/* 1 h in µs */

struct hist;

struct hist *hist_new(void);
void hist_free(struct hist **h);
void hist_reset(struct hist *h);

/* Records value (negative counts as 0) n times. Never fails. */
void hist_record(struct hist *h, int64_t value);
void hist_record_n(struct hist *h, int64_t value, uint64_t n);
/* Adds every sample of src to dst. */
void hist_merge(struct hist *dst, const struct hist *src);

uint64_t hist_count(const struct hist *h);
/* Exact minimum / maximum recorded; 0 when empty. */
int64_t hist_min(const struct hist *h);
int64_t hist_max(const struct hist *h);
double hist_mean(const struct hist *h);
/* The value at percentile p (0 < p <= 100) by nearest rank: the smallest
 * recorded value v such that at least p% of samples are <= v, within the
 * relative error above (the middle of its bucket, clamped to [min, max]).
 * 0 when empty. */
int64_t hist_percentile(const struct hist *h, double p);
/* Fraction (0..1) of samples <= value (bucket resolution). 1 when empty. */
double hist_fraction_le(const struct hist *h, int64_t value);

/* Appends h as one printable token (no spaces, no quotes, safe inside a JSON
 * string):  "lh1/<sub_bits>/<count>/<min>/<max>/<sum>/<idx>:<n>,<idx>:<n>..."
 * with only non-empty buckets listed, in increasing index. */
void hist_encode(const struct hist *h, struct buf *out);
/* Parses hist_encode() output and adds its samples to h (so decoding several
 * encodings merges them). Returns 0, or -1 with *error_r set (static). */
int hist_decode_add(struct hist *h, const char *s, size_t len,
	const char **error_r);

#endif
