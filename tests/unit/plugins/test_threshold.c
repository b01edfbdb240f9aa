/* test_threshold.c: Nagios threshold ranges (lib/core/threshold.c), every
 * form of the Monitoring Plugins guidelines plus the invalid ones. */
#include "postier.h"

#include <math.h>
#include <stdarg.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/threshold.h"


/* Each row: a range and values with the expected answer (1 alert, 0 fine). */
struct probe {
	double value;
	int alert;
};

static const struct {
	const char *name, *in;
	/* expected parse result */
	double start, end;
	bool start_inf, end_inf, inside;
	struct probe probes[6];
	int n_probes;
} good[] = {
	{ "end only", "10", 0, 10, false, false, false,
		{ { -1, 1 }, { 0, 0 }, { 5, 0 }, { 10, 0 }, { 10.001, 1 }, { 11, 1 } }, 6 },
	{ "start only", "10:", 10, 0, false, true, false,
		{ { -5, 1 }, { 9.99, 1 }, { 10, 0 }, { 1e9, 0 } }, 4 },
	{ "minus infinity", "~:10", 0, 10, true, false, false,
		{ { -1e9, 0 }, { 10, 0 }, { 10.5, 1 } }, 3 },
	{ "start and end", "10:20", 10, 20, false, false, false,
		{ { 9, 1 }, { 10, 0 }, { 15, 0 }, { 20, 0 }, { 21, 1 } }, 5 },
	{ "inside", "@10:20", 10, 20, false, false, true,
		{ { 9, 0 }, { 10, 1 }, { 15, 1 }, { 20, 1 }, { 21, 0 } }, 5 },
	{ "inside end only", "@10", 0, 10, false, false, true,
		{ { -1, 0 }, { 0, 1 }, { 10, 1 }, { 11, 0 } }, 4 },
	{ "inside open end", "@10:", 10, 0, false, true, true,
		{ { 9, 0 }, { 10, 1 }, { 1e12, 1 } }, 3 },
	{ "inside minus infinity", "@~:0", 0, 0, true, false, true,
		{ { -3, 1 }, { 0, 1 }, { 0.1, 0 } }, 3 },
	{ "everything fine", "~:", 0, 0, true, true, false,
		{ { -1e300, 0 }, { 0, 0 }, { 1e300, 0 } }, 3 },
	{ "empty start", ":10", 0, 10, false, false, false,
		{ { -1, 1 }, { 10, 0 } }, 2 },
	{ "negative", "-10:-5", -10, -5, false, false, false,
		{ { -11, 1 }, { -7, 0 }, { -4, 1 } }, 3 },
	{ "decimals", "0.5:1.25", 0.5, 1.25, false, false, false,
		{ { 0.4, 1 }, { 0.5, 0 }, { 1.25, 0 }, { 1.26, 1 } }, 4 },
	{ "leading dot and plus", "+.5:2.", 0.5, 2, false, false, false,
		{ { 0.49, 1 }, { 2, 0 } }, 2 },
	{ "exponent", "1e3", 0, 1000, false, false, false,
		{ { 999, 0 }, { 1001, 1 } }, 2 },
	{ "start equals end", "5:5", 5, 5, false, false, false,
		{ { 5, 0 }, { 4.9, 1 }, { 5.1, 1 } }, 3 },
	{ "zero", "0", 0, 0, false, false, false,
		{ { 0, 0 }, { 1, 1 }, { -1, 1 } }, 3 },
};

static const struct {
	const char *name, *in;
} bad[] = {
	{ "empty", "" },
	{ "start above end", "20:10" },
	{ "inside start above end", "@20:10" },
	{ "letters", "abc" },
	{ "trailing garbage", "10abc" },
	{ "garbage start", "x:10" },
	{ "two colons", "1:2:3" },
	{ "tilde without colon", "~" },
	{ "tilde as end", "10:~" },
	{ "at only", "@" },
	{ "double at", "@@10" },
	{ "space", " 10" },
	{ "inner space", "10: 20" },
	{ "inf", "inf" },
	{ "nan", "nan" },
	{ "hex", "0x10" },
	{ "comma decimal", "1,5" },
	{ "bare sign", "-" },
	{ "bare dot", "." },
	{ "exponent without digits", "1e" },
	{ "overflow", "1e999" },
	{ "too long", "1111111111111111111111111111111111111111111111111111111111111111111111" },
	{ "percent unit", "10%" },
	{ "colon only after at", "@:" },
	{ "colon only", ":" },
};

static void
test_good_ranges(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMENTS(good); i++) {
		struct threshold_range r;
		const char *err = NULL;
		if (threshold_range_parse(good[i].in, &r, &err) != 0)
			fail_msg("row '%s': refused: %s", good[i].name, err);
		if (r.start_infinite != good[i].start_inf ||
		    r.end_infinite != good[i].end_inf ||
		    r.inside != good[i].inside)
			fail_msg("row '%s': flags", good[i].name);
		if (!r.start_infinite && r.start != good[i].start)
			fail_msg("row '%s': start %g", good[i].name, r.start);
		if (!r.end_infinite && r.end != good[i].end)
			fail_msg("row '%s': end %g", good[i].name, r.end);
		if (strcmp(r.text, good[i].in) != 0)
			fail_msg("row '%s': text '%s'", good[i].name, r.text);
		for (int k = 0; k < good[i].n_probes; k++) {
			const struct probe *p = &good[i].probes[k];
			if ((int)threshold_range_alerts(&r, p->value) != p->alert)
				fail_msg("row '%s': value %g alert=%d wanted %d",
					good[i].name, p->value, !p->alert, p->alert);
		}
		if (!threshold_range_alerts(&r, NAN))
			fail_msg("row '%s': NaN must alert", good[i].name);
	}
}

static void
test_bad_ranges(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		struct threshold_range r;
		const char *err = NULL;
		if (threshold_range_parse(bad[i].in, &r, &err) != -1)
			fail_msg("row '%s': '%s' accepted", bad[i].name, bad[i].in);
		if (err == NULL || *err == '\0')
			fail_msg("row '%s': no reason", bad[i].name);
	}
}

/* -w and -c together: critical wins, then warning, then OK. */
static void
test_levels(void **state)
{
	(void)state;
	static const struct {
		const char *name, *warn, *crit;
		double value;
		enum threshold_level want;
	} rows[] = {
		{ "below both", "10", "20", 5, THRESHOLD_LEVEL_OK },
		{ "warning", "10", "20", 15, THRESHOLD_LEVEL_WARNING },
		{ "critical", "10", "20", 25, THRESHOLD_LEVEL_CRITICAL },
		{ "at warning edge", "10", "20", 10, THRESHOLD_LEVEL_OK },
		{ "low side critical", "10:", "5:", 3, THRESHOLD_LEVEL_CRITICAL },
		{ "low side warning", "10:", "5:", 7, THRESHOLD_LEVEL_WARNING },
		{ "only critical", NULL, "~:1", 2, THRESHOLD_LEVEL_CRITICAL },
		{ "only warning", "~:1", NULL, 2, THRESHOLD_LEVEL_WARNING },
		{ "none", NULL, NULL, 1e9, THRESHOLD_LEVEL_OK },
		{ "inside critical", "@1:2", "@3:4", 3.5, THRESHOLD_LEVEL_CRITICAL },
	};
	for (size_t i = 0; i < N_ELEMENTS(rows); i++) {
		struct threshold t;
		const char *err;
		threshold_init(&t);
		if (rows[i].warn != NULL) {
			assert_int_equal(threshold_range_parse(rows[i].warn,
				&t.warn, &err), 0);
			t.has_warn = true;
		}
		if (rows[i].crit != NULL) {
			assert_int_equal(threshold_range_parse(rows[i].crit,
				&t.crit, &err), 0);
			t.has_crit = true;
		}
		enum threshold_level got = threshold_check(&t, rows[i].value);
		if (got != rows[i].want)
			fail_msg("row '%s': got %d want %d", rows[i].name,
				got, rows[i].want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_ranges),
		cmocka_unit_test(test_bad_ranges),
		cmocka_unit_test(test_levels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
