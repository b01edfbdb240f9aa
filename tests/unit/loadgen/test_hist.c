/* test_hist.c: lib/core/hist against exact percentiles of known data, merge
 * equals the histogram of the union, encode/decode round trip, bad input. */
#include "postier.h"

#include <math.h>
#include <stdarg.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/hist.h"

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static int64_t
exact_percentile(const int64_t *sorted, size_t n, double p)
{
	double r = p / 100.0 * (double)n;
	size_t rank = (size_t)ceil(r);
	if (rank < 1)
		rank = 1;
	return sorted[rank - 1];
}

static void
check_data(const char *name, int64_t *v, size_t n)
{
	struct hist *h = hist_new();
	for (size_t i = 0; i < n; i++)
		hist_record(h, v[i]);
	qsort(v, n, sizeof(*v), cmp64);
	static const double ps[] = { 1, 10, 50, 90, 99, 99.9, 99.99, 100 };
	for (size_t i = 0; i < N_ELEMENTS(ps); i++) {
		int64_t want = exact_percentile(v, n, ps[i]);
		int64_t got = hist_percentile(h, ps[i]);
		double err = fabs((double)(got - want)) / (double)(want > 0 ? want : 1);
		if (err > 0.01 && llabs(got - want) > 1)
			fail_msg("%s p%g: got %lld want %lld", name, ps[i],
				(long long)got, (long long)want);
	}
	assert_int_equal(hist_count(h), n);
	assert_int_equal(hist_min(h), v[0]);
	assert_int_equal(hist_max(h), v[n - 1]);
	hist_free(&h);
}

static void
test_known_data(void **state)
{
	(void)state;
	size_t n = 100000;
	int64_t *v = malloc(n * sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = (int64_t)i + 1;
	check_data("uniform 1..100000", v, n);

	srand(42);
	for (size_t i = 0; i < n; i++) {
		/* lognormal around 20 ms with a long tail */
		double u1 = (rand() + 1.0) / (RAND_MAX + 2.0);
		double u2 = (rand() + 1.0) / (RAND_MAX + 2.0);
		double z = sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
		v[i] = (int64_t)(20000 * exp(1.2 * z));
	}
	check_data("lognormal", v, n);

	for (size_t i = 0; i < n; i++)
		v[i] = i % 100 == 0 ? 1000000 : 50;	/* 1% stalls of 1 s */
	check_data("bimodal", v, n);
	free(v);
}

static void
test_small(void **state)
{
	(void)state;
	struct hist *h = hist_new();
	assert_int_equal(hist_percentile(h, 50), 0);
	hist_record(h, 7);
	assert_int_equal(hist_percentile(h, 50), 7);
	assert_int_equal(hist_percentile(h, 100), 7);
	hist_record(h, -5);
	assert_int_equal(hist_min(h), 0);
	hist_record(h, HIST_MAX_VALUE * 10);
	assert_int_equal(hist_max(h), HIST_MAX_VALUE * 10);
	assert_true(hist_fraction_le(h, 10) > 0.6);
	hist_free(&h);
}

static void
test_merge_and_encode(void **state)
{
	(void)state;
	struct hist *a = hist_new(), *b = hist_new(), *all = hist_new();
	for (int64_t i = 0; i < 50000; i++) {
		int64_t v = (i * 7919) % 3000000;
		hist_record(i % 3 == 0 ? a : b, v);
		hist_record(all, v);
	}
	struct buf ea, eb, eall, emerged;
	buf_init(&ea);
	buf_init(&eb);
	buf_init(&eall);
	buf_init(&emerged);
	hist_encode(a, &ea);
	hist_encode(b, &eb);
	hist_encode(all, &eall);
	/* decoding both encodings into one histogram merges them */
	struct hist *m = hist_new();
	const char *error;
	assert_int_equal(hist_decode_add(m, buf_data(&ea), buf_len(&ea), &error), 0);
	assert_int_equal(hist_decode_add(m, buf_data(&eb), buf_len(&eb), &error), 0);
	hist_encode(m, &emerged);
	assert_string_equal(buf_data(&emerged), buf_data(&eall));
	hist_merge(a, b);
	assert_int_equal(hist_percentile(a, 99), hist_percentile(all, 99));
	assert_int_equal(hist_count(a), 50000);

	static const char *const bad[] = {
		"", "lh2/7/0/0/0/0/", "lh1/8/1/1/1/1/1:1", "lh1/7/2/1/1/1/1:1",
		"lh1/7/1/1/1/1/999999:1", "lh1/7/1/1/1/1/1:x", "lh1/7/x",
	};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		if (hist_decode_add(m, bad[i], strlen(bad[i]), &error) != -1)
			fail_msg("decoded bad input [%s]", bad[i]);
	}
	buf_clear(&ea);
	buf_clear(&eb);
	buf_clear(&eall);
	buf_clear(&emerged);
	hist_free(&a);
	hist_free(&b);
	hist_free(&all);
	hist_free(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_data),
		cmocka_unit_test(test_small),
		cmocka_unit_test(test_merge_and_encode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
