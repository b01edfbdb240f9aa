/* test_sched.c: the open-loop scheduler on seeded runs: arrival counts per
 * hour within Poisson bounds, exponential inter-arrival times, speed,
 * repeatability, and shards that together replay the whole run. */
#include "postier.h"

#include <math.h>
#include <stdarg.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lgsched.h"

static const double rates[10] = {
	6000, 10000, 13000, 12000, 7000, 6000, 11000, 14000, 13000, 8000,
};

static void
test_hourly_counts(void **state)
{
	(void)state;
	struct sched s;
	sched_init(&s, rates, 10, 10, 1.0, 42, 0, 1);
	unsigned long counts[10] = { 0 };
	double t, last = -1;
	uint64_t seq, want_seq = 0;
	while (sched_next(&s, &t, &seq) == 1) {
		assert_true(t >= last);
		assert_int_equal(seq, want_seq++);
		last = t;
		unsigned int h = (unsigned int)(t / 3600);
		assert_true(h < 10);
		counts[h]++;
	}
	for (int h = 0; h < 10; h++) {
		/* Poisson: sd = sqrt(lambda); 5 sd is a 1-in-a-million miss */
		double sd = sqrt(rates[h]);
		if (fabs((double)counts[h] - rates[h]) > 5 * sd)
			fail_msg("hour %d: %lu arrivals, expected %.0f +- %.0f", h,
				counts[h], rates[h], 5 * sd);
	}
}

static void
test_interarrival_exponential(void **state)
{
	(void)state;
	double rate[1] = { 36000 };	/* 10 per second */
	struct sched s;
	sched_init(&s, rate, 1, 1, 1.0, 7, 0, 1);
	double t, prev = 0, sum = 0, sum2 = 0;
	uint64_t seq;
	size_t n = 0, above_mean = 0, tiny = 0;
	double *gaps = malloc(40000 * sizeof(*gaps));
	while (sched_next(&s, &t, &seq) == 1 && n < 40000) {
		double g = t - prev;
		prev = t;
		gaps[n++] = g;
		sum += g;
		sum2 += g * g;
	}
	double mean = sum / n;
	double cv = sqrt(sum2 / n - mean * mean) / mean;
	for (size_t i = 0; i < n; i++) {
		above_mean += gaps[i] > 0.1;
		tiny += gaps[i] < 0.01;
	}
	free(gaps);
	/* exponential with mean 0.1 s: CV 1, P(g > mean) = e^-1,
	 * P(g < mean/10) = 1 - e^-0.1 */
	if (fabs(mean - 0.1) > 0.003)
		fail_msg("mean gap %.4f s, expected 0.1", mean);
	if (fabs(cv - 1.0) > 0.03)
		fail_msg("coefficient of variation %.3f, expected 1", cv);
	double p_above = (double)above_mean / n, p_tiny = (double)tiny / n;
	if (fabs(p_above - exp(-1)) > 0.015)
		fail_msg("P(gap > mean) = %.4f, expected %.4f", p_above, exp(-1));
	if (fabs(p_tiny - (1 - exp(-0.1))) > 0.01)
		fail_msg("P(gap < mean/10) = %.4f, expected %.4f", p_tiny,
			1 - exp(-0.1));
}

static void
test_speed_and_seed(void **state)
{
	(void)state;
	struct sched a, b, c;
	sched_init(&a, rates, 10, 10, 1.0, 1, 0, 1);
	sched_init(&b, rates, 10, 10, 600.0, 1, 0, 1);
	sched_init(&c, rates, 10, 10, 1.0, 2, 0, 1);
	double ta, tb, tc;
	uint64_t sa, sb, sc;
	int differ = 0;
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(sched_next(&a, &ta, &sa), 1);
		assert_int_equal(sched_next(&b, &tb, &sb), 1);
		assert_int_equal(sched_next(&c, &tc, &sc), 1);
		assert_true(fabs(ta / 600.0 - tb) < 1e-9);
		differ += ta != tc;
	}
	assert_true(differ > 990);
	/* a 10-hour window at 600x ends within 60 s of real time */
	double last = 0;
	while (sched_next(&b, &tb, &sb) == 1)
		last = tb;
	assert_true(last <= 60.0 && last > 59.0);
}

static void
test_partial_window(void **state)
{
	(void)state;
	double r[2] = { 7200, 7200 };	/* 2/s; window ends at 1.5 h */
	struct sched s;
	sched_init(&s, r, 2, 1.5, 1.0, 3, 0, 1);
	double t;
	uint64_t seq;
	unsigned long n = 0;
	while (sched_next(&s, &t, &seq) == 1) {
		assert_true(t < 5400.0);
		n++;
	}
	assert_true(fabs((double)n - 10800) < 5 * sqrt(10800));
}

static void
test_shards_replay_the_whole(void **state)
{
	(void)state;
	struct sched all, s0, s1, s2;
	sched_init(&all, rates, 3, 3, 60, 9, 0, 1);
	sched_init(&s0, rates, 3, 3, 60, 9, 0, 3);
	sched_init(&s1, rates, 3, 3, 60, 9, 1, 3);
	sched_init(&s2, rates, 3, 3, 60, 9, 2, 3);
	struct sched *shards[3] = { &s0, &s1, &s2 };
	double t, ts;
	uint64_t seq, sseq;
	while (sched_next(&all, &t, &seq) == 1) {
		struct sched *sh = shards[seq % 3];
		assert_int_equal(sched_next(sh, &ts, &sseq), 1);
		assert_int_equal(sseq, seq);
		assert_true(ts == t);
	}
	for (int i = 0; i < 3; i++)
		assert_int_equal(sched_next(shards[i], &ts, &sseq), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hourly_counts),
		cmocka_unit_test(test_interarrival_exponential),
		cmocka_unit_test(test_speed_and_seed),
		cmocka_unit_test(test_partial_window),
		cmocka_unit_test(test_shards_replay_the_whole),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
