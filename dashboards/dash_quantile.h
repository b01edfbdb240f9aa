/* dash_quantile.h: latency percentiles of one interval from two scrapes of a
 * cumulative histogram (Prometheus histogram_quantile() on bucket deltas).
 * Pure functions, no I/O. */
#ifndef DASH_QUANTILE_H
#define DASH_QUANTILE_H

#include <stddef.h>
#include "postier.h"

struct dash_bucket {
	double le;    /* upper bound; INFINITY for +Inf */
	double count; /* cumulative count of observations <= le */
};

/* Sorts buckets by le (ascending). */
void dash_buckets_sort(struct dash_bucket *b, size_t n);

/* Estimates the q-quantile (0 < q < 1) of the observations made between two
 * scrapes, prev and cur (both sorted, cumulative). Inside a bucket the
 * observations are assumed uniform (linear interpolation between the
 * previous bound, 0 for the first, and le); a rank in the +Inf bucket gives
 * the highest finite bound.
 * Returns 1 and sets *value_r, 0 when no observation fell in the interval,
 * -1 when it cannot tell (different bucket layouts, a count went down: the
 * server restarted, or no +Inf bucket). */
int dash_quantile_delta(const struct dash_bucket *prev, size_t prev_n,
	const struct dash_bucket *cur, size_t cur_n, double q, double *value_r);

#endif
