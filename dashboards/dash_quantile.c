/* dash_quantile.c: histogram_quantile() over the difference of two scrapes. */
#include "postier.h"

#include <math.h>
#include <stdlib.h>

#include "dash_quantile.h"

static int
bucket_cmp(const void *a, const void *b)
{
	double x = ((const struct dash_bucket *)a)->le;
	double y = ((const struct dash_bucket *)b)->le;

	return x < y ? -1 : x > y ? 1 : 0;
}

void
dash_buckets_sort(struct dash_bucket *b, size_t n)
{
	if (n > 1)
		qsort(b, n, sizeof(*b), bucket_cmp);
}

int
dash_quantile_delta(const struct dash_bucket *prev, size_t prev_n,
	const struct dash_bucket *cur, size_t cur_n, double q, double *value_r)
{
	if (cur_n == 0 || cur_n != prev_n || !isinf(cur[cur_n - 1].le) ||
	    !(q > 0 && q < 1))
		return -1;
	for (size_t i = 0; i < cur_n; i++) {
		if (cur[i].le != prev[i].le && !(isinf(cur[i].le) && isinf(prev[i].le)))
			return -1;
		if (cur[i].count < prev[i].count)
			return -1;
		/* cumulative: each bucket holds at least the one below it */
		if (i > 0 && cur[i].count - prev[i].count <
		    cur[i - 1].count - prev[i - 1].count)
			return -1;
	}
	double total = cur[cur_n - 1].count - prev[cur_n - 1].count;
	if (total <= 0)
		return 0;

	double rank = q * total;
	double below = 0, lower = 0;
	for (size_t i = 0; i < cur_n; i++) {
		double cum = cur[i].count - prev[i].count;
		if (cum >= rank) {
			if (isinf(cur[i].le)) {
				/* above every finite bound: the best we can say */
				*value_r = cur_n >= 2 ? cur[cur_n - 2].le : 0;
				return 1;
			}
			double in_bucket = cum - below;
			double frac = in_bucket > 0 ? (rank - below) / in_bucket : 1;
			*value_r = lower + (cur[i].le - lower) * frac;
			return 1;
		}
		below = cum;
		lower = cur[i].le;
	}
	return -1;
}
