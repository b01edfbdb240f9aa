/* test_quantile.c: percentiles of one interval from two cumulative
 * histogram scrapes (dash_quantile_delta). */
#include "postier.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "dash_quantile.h"

#define INF INFINITY
#define NB 5

static const double bounds[NB] = { 0.01, 0.1, 1, 10, INF };

struct row {
	const char *name;
	double prev[NB], cur[NB]; /* cumulative counts */
	double q;
	int want_ret;
	double want;
};

static const struct row rows[] = {
	{ "all in first bucket, p50 halfway", { 0, 0, 0, 0, 0 },
		{ 10, 10, 10, 10, 10 }, 0.5, 1, 0.005 },
	{ "uniform split, p50 at the second bucket's top",
		{ 0, 0, 0, 0, 0 }, { 5, 10, 10, 10, 10 }, 0.5, 1, 0.01 },
	{ "delta only counts the interval", { 100, 100, 100, 100, 100 },
		{ 100, 110, 110, 110, 110 }, 0.5, 1, 0.055 },
	{ "p99 in the third bucket", { 0, 0, 0, 0, 0 }, { 0, 0, 100, 100, 100 },
		0.99, 1, 0.1 + 0.9 * 0.99 },
	{ "rank in +Inf gives the highest finite bound", { 0, 0, 0, 0, 0 },
		{ 0, 0, 0, 0, 4 }, 0.5, 1, 10 },
	{ "nothing observed in the interval", { 3, 4, 5, 6, 7 },
		{ 3, 4, 5, 6, 7 }, 0.5, 0, 0 },
	{ "counter went down: server restarted", { 3, 4, 5, 6, 7 },
		{ 1, 1, 1, 1, 1 }, 0.5, -1, 0 },
	{ "not cumulative (broken exporter)", { 0, 0, 0, 0, 0 },
		{ 5, 1, 5, 5, 5 }, 0.5, -1, 0 },
	{ "q out of range", { 0, 0, 0, 0, 0 }, { 1, 1, 1, 1, 1 }, 1.0, -1, 0 },
};

static void
fill(struct dash_bucket *b, const double *counts)
{
	for (int i = 0; i < NB; i++) {
		b[i].le = bounds[i];
		b[i].count = counts[i];
	}
}

static void
test_table(void **state ATTR_UNUSED)
{
	for (size_t i = 0; i < N_ELEMENTS(rows); i++) {
		struct dash_bucket prev[NB], cur[NB];
		double v = -1;
		fill(prev, rows[i].prev);
		fill(cur, rows[i].cur);
		int ret = dash_quantile_delta(prev, NB, cur, NB, rows[i].q, &v);
		if (ret != rows[i].want_ret) {
			fail_msg("%s: returned %d, want %d", rows[i].name, ret,
				rows[i].want_ret);
		}
		if (ret == 1 && fabs(v - rows[i].want) > 1e-9) {
			fail_msg("%s: value %.9g, want %.9g", rows[i].name, v,
				rows[i].want);
		}
	}
}

static void
test_layout_mismatch(void **state ATTR_UNUSED)
{
	struct dash_bucket prev[NB], cur[NB];
	double v;
	static const double c[NB] = { 1, 2, 3, 4, 5 };

	fill(prev, c);
	fill(cur, c);
	cur[4].count = 9;
	/* a different bucket count */
	assert_int_equal(dash_quantile_delta(prev, NB - 1, cur, NB, 0.5, &v), -1);
	/* a different bound */
	prev[1].le = 0.2;
	assert_int_equal(dash_quantile_delta(prev, NB, cur, NB, 0.5, &v), -1);
	/* no +Inf bucket */
	fill(prev, c);
	assert_int_equal(dash_quantile_delta(prev, NB - 1, cur, NB - 1, 0.5, &v), -1);
	assert_int_equal(dash_quantile_delta(prev, 0, cur, 0, 0.5, &v), -1);
}

static void
test_sort(void **state ATTR_UNUSED)
{
	struct dash_bucket b[4] = { { INF, 9 }, { 1, 5 }, { 0.1, 2 }, { 10, 7 } };

	dash_buckets_sort(b, 4);
	assert_true(b[0].le == 0.1 && b[1].le == 1 && b[2].le == 10 && isinf(b[3].le));
	assert_true(b[0].count == 2 && b[3].count == 9);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_layout_mismatch),
		cmocka_unit_test(test_sort),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
