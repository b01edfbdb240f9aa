/* patrol.c: Nagios thresholds -> PATROL BORDER/ALARM1/ALARM2 ranges. */
#include "postier.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "patrol.h"

struct segment {
	double lo, hi;          /* -INFINITY / INFINITY for open ends */
	enum threshold_level level;
};

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y ? 1 : 0;
}

static void
add_point(double *pts, size_t *n, double v, double lo, double hi)
{
	if (v >= lo && v <= hi)
		pts[(*n)++] = v;
}

/* A value strictly inside (lo, hi), which may be infinite at one or both
 * ends, to evaluate the piece. */
static double
probe_point(double lo, double hi)
{
	if (isinf(lo) && isinf(hi))
		return 0;
	if (isinf(lo))
		return hi - 1 - fabs(hi);
	if (isinf(hi))
		return lo + 1 + fabs(lo);
	return lo + (hi - lo) / 2;
}

static void
set_range(struct patrol_range *r, const struct segment *s)
{
	r->enabled = true;
	r->min_infinite = isinf(s->lo);
	r->max_infinite = isinf(s->hi);
	r->min = r->min_infinite ? 0 : s->lo;
	r->max = r->max_infinite ? 0 : s->hi;
	r->level = s->level;
}

int
patrol_map(const struct threshold *t, bool has_min, double min,
	bool has_max, double max, struct patrol_ranges *ranges_r)
{
	double lo = has_min ? min : -INFINITY;
	double hi = has_max ? max : INFINITY;
	double pts[6];
	size_t n = 0;

	memset(ranges_r, 0, sizeof(*ranges_r));
	const struct threshold_range *rs[2] = {
		t->has_warn ? &t->warn : NULL, t->has_crit ? &t->crit : NULL,
	};
	for (size_t i = 0; i < 2; i++) {
		if (rs[i] == NULL)
			continue;
		if (!rs[i]->start_infinite)
			add_point(pts, &n, rs[i]->start, lo, hi);
		if (!rs[i]->end_infinite)
			add_point(pts, &n, rs[i]->end, lo, hi);
	}
	qsort(pts, n, sizeof(pts[0]), cmp_double);

	/* Pieces: the open intervals between cut points and the cut points
	 * themselves (a range like "1:1" is fine at one point only), merged
	 * when neighbours share a level. */
	struct segment segs[16];
	size_t n_segs = 0;
	double from = lo;
	for (size_t i = 0; i <= n; i++) {
		if (i > 0 && i < n && pts[i] == pts[i - 1])
			continue; /* duplicate cut point */
		double to = i < n ? pts[i] : hi;
		struct segment piece[2];
		size_t n_piece = 0;
		if (to > from || (isinf(from) && isinf(to))) {
			piece[n_piece].lo = from;
			piece[n_piece].hi = to;
			piece[n_piece].level = threshold_check(t,
				probe_point(from, to));
			n_piece++;
		}
		if (i < n) {
			piece[n_piece].lo = to;
			piece[n_piece].hi = to;
			piece[n_piece].level = threshold_check(t, to);
			n_piece++;
		}
		for (size_t k = 0; k < n_piece; k++) {
			if (n_segs > 0 &&
			    segs[n_segs - 1].level == piece[k].level) {
				segs[n_segs - 1].hi = piece[k].hi;
			} else {
				segs[n_segs++] = piece[k];
			}
		}
		from = to;
	}

	const struct segment *bad[16];
	size_t n_bad = 0;
	for (size_t i = 0; i < n_segs; i++) {
		if (segs[i].level != THRESHOLD_LEVEL_OK)
			bad[n_bad++] = &segs[i];
	}
	if (n_bad <= 2) {
		if (n_bad >= 1)
			set_range(&ranges_r->alarm1, bad[0]);
		if (n_bad == 2)
			set_range(&ranges_r->alarm2, bad[1]);
		if (n_bad == 1 && n_segs > 1 && bad[0] == &segs[n_segs - 1]) {
			/* a single upper range reads better as ALARM2 */
			ranges_r->alarm2 = ranges_r->alarm1;
			memset(&ranges_r->alarm1, 0, sizeof(ranges_r->alarm1));
		}
		return 0;
	}
	/* Three or more: the outermost two become BORDER when they are the
	 * two ends of the line and alarm alike. */
	const struct segment *first = &segs[0], *last = &segs[n_segs - 1];
	if (n_bad > 4 || first->level == THRESHOLD_LEVEL_OK ||
	    last->level == THRESHOLD_LEVEL_OK || first->level != last->level)
		return -1;
	ranges_r->border.enabled = true;
	ranges_r->border.min = first->hi;
	ranges_r->border.max = last->lo;
	ranges_r->border.level = first->level;
	if (n_bad >= 3)
		set_range(&ranges_r->alarm1, bad[1]);
	if (n_bad == 4)
		set_range(&ranges_r->alarm2, bad[2]);
	return 0;
}

const char *
patrol_level_name(enum threshold_level level)
{
	return level == THRESHOLD_LEVEL_CRITICAL ? "ALARM" : "WARN";
}
