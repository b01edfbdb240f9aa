/* test_csv.c: postier-loadgen's CSV time series (dash_csv_parse). */
#include "postier.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dash_csv.h"

#define HDR "time_unix,offered_per_s,achieved_per_s,errors,smtp_p50_ms," \
	"smtp_p99_ms,e2e_p99_ms\n"

struct row {
	const char *name;
	const char *in;
	int want_ret;
	size_t want_rows;
	const char *want_error; /* substring */
};

static const struct row rows[] = {
	{ "header only", HDR, 0, 0, NULL },
	{ "two rows", HDR "100,1,1,0,2,3,4\n105,2,2,1,2,3,4\n", 0, 2, NULL },
	{ "CRLF and no final newline", "time_unix,offered_per_s\r\n1,2\r\n3,4", 0, 2,
		NULL },
	{ "blank lines skipped", HDR "\n100,1,1,0,2,3,4\n\n", 0, 1, NULL },
	{ "empty fields are unknown", HDR "100,1,1,0,,,\n", 0, 1, NULL },
	{ "columns in another order", "e2e_p99_ms,time_unix\n5,100\n6,101\n", 0, 2,
		NULL },
	{ "empty file", "", -1, 0, "empty CSV" },
	{ "no time column", "offered_per_s\n1\n", -1, 0, "no time_unix" },
	{ "not a number", HDR "100,1,x,0,2,3,4\n", -1, 0, "line 2: achieved_per_s" },
	{ "short row (truncated file)", HDR "100,1,1,0,2,3,4\n105,2,2", -1, 0,
		"line 3: 3 fields" },
	{ "time goes back", HDR "100,1,1,0,2,3,4\n99,1,1,0,2,3,4\n", -1, 0,
		"does not increase" },
	{ "inf refused", HDR "100,inf,1,0,2,3,4\n", -1, 0, "offered_per_s" },
	{ "empty time", HDR ",1,1,0,2,3,4\n", -1, 0, "empty time_unix" },
};

static void
test_table(void **state ATTR_UNUSED)
{
	for (size_t i = 0; i < N_ELEMENTS(rows); i++) {
		struct dash_csv csv;
		char *error = NULL;
		int ret = dash_csv_parse(&csv, rows[i].in, strlen(rows[i].in), &error);
		if (ret != rows[i].want_ret)
			fail_msg("%s: returned %d (%s)", rows[i].name, ret,
				error != NULL ? error : "");
		if (ret == 0 && csv.count != rows[i].want_rows)
			fail_msg("%s: %zu rows, want %zu", rows[i].name, csv.count,
				rows[i].want_rows);
		if (ret < 0 && strstr(error, rows[i].want_error) == NULL)
			fail_msg("%s: error \"%s\" lacks \"%s\"", rows[i].name, error,
				rows[i].want_error);
		free(error);
		dash_csv_clear(&csv);
	}
}

static void
test_values(void **state ATTR_UNUSED)
{
	static const char in[] = HDR "100,1.5,1.25,3,2,,4\n";
	struct dash_csv csv;
	char *error = NULL;

	assert_int_equal(dash_csv_parse(&csv, in, strlen(in), &error), 0);
	assert_int_equal(csv.count, 1);
	assert_true(csv.rows[0].v[DASH_CSV_TIME] == 100);
	assert_true(csv.rows[0].v[DASH_CSV_OFFERED] == 1.5);
	assert_true(csv.rows[0].v[DASH_CSV_ACHIEVED] == 1.25);
	assert_true(csv.rows[0].v[DASH_CSV_ERRORS] == 3);
	assert_true(isnan(csv.rows[0].v[DASH_CSV_SMTP_P99]));
	assert_true(csv.rows[0].v[DASH_CSV_E2E_P99] == 4);
	dash_csv_clear(&csv);
}

/* every prefix of a valid file either parses or fails with a message:
 * never a crash (what a CSV cut by a full disk looks like) */
static void
test_every_prefix(void **state ATTR_UNUSED)
{
	static const char in[] = HDR "100,1,1,0,2,3,4\n105,2,2,1,2,3,4\n";
	for (size_t len = 0; len <= strlen(in); len++) {
		struct dash_csv csv;
		char *error = NULL;
		if (dash_csv_parse(&csv, in, len, &error) < 0)
			assert_non_null(error);
		free(error);
		dash_csv_clear(&csv);
	}
}

static void
test_missing_file(void **state ATTR_UNUSED)
{
	struct dash_csv csv;
	char *error = NULL;

	assert_int_equal(dash_csv_load(&csv, "/nonexistent/x.csv", &error), -1);
	assert_non_null(strstr(error, "/nonexistent/x.csv"));
	free(error);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_every_prefix),
		cmocka_unit_test(test_missing_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
