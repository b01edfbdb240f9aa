/* test_scrape.c: from a /metrics body to the RRD update of a node
 * (dash_scrape_*), the Cacti line, and the histogram state file. */
#include "postier.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/buf.h"
#include "dash_cacti.h"
#include "dash_layout.h"
#include "dash_scrape.h"

static const char body1[] =
	"# TYPE postier_smtp_messages_received total\n"
	"postier_smtp_messages_received_total 100\n"
	"postier_delivered_messages_total 250\n"
	"postier_queue_messages 7\n"
	"postier_queue_oldest_age_seconds 1.5\n"
	"postier_sessions{proto=\"smtp\"} 3\n"
	"postier_sessions{proto=\"imap\"} 5\n"
	"postier_sessions{proto=\"pop3\"} 4\n"
	"postier_auth_failures_total{proto=\"imap\"} 9\n"
	"postier_connections_total{proto=\"smtp\"} 40\n"
	"postier_tls_connections_total{proto=\"smtp\"} 30\n"
	"postier_unrelated_total 5\n"
	"# TYPE postier_delivery_seconds histogram\n"
	"postier_delivery_seconds_bucket{le=\"0.01\"} 10\n"
	"postier_delivery_seconds_bucket{le=\"0.1\"} 20\n"
	"postier_delivery_seconds_bucket{le=\"+Inf\"} 20\n"
	"postier_delivery_seconds_count 20\n"
	"postier_delivery_seconds_sum 0.5\n"
	"# EOF\n";

/* 10 more observations, all in (0.01, 0.1] */
static const char body2[] =
	"postier_delivery_seconds_bucket{le=\"0.01\"} 10\n"
	"postier_delivery_seconds_bucket{le=\"+Inf\"} 30\n"
	"postier_delivery_seconds_bucket{le=\"0.1\"} 30\n"
	"# EOF\n";

static int
ds(const char *name)
{
	for (size_t i = 0; i < dash_layout_ds_count; i++) {
		if (strcmp(dash_layout_ds[i].ds, name) == 0)
			return (int)i;
	}
	fail_msg("no data source %s", name);
	return -1;
}

static void
test_mapping(void **state ATTR_UNUSED)
{
	struct dash_scrape s;
	char *error = NULL;

	dash_scrape_init(&s);
	assert_int_equal(dash_scrape_parse(&s, body1, strlen(body1), &error), 0);
	assert_true(s.value[ds("msgs_in")] == 100);
	assert_true(s.value[ds("delivered")] == 250);
	assert_true(s.value[ds("queue")] == 7);
	assert_true(s.value[ds("queue_age")] == 1.5);
	assert_true(s.value[ds("sess_smtp")] == 3);
	assert_true(s.value[ds("sess_pop3")] == 4);
	assert_true(s.value[ds("sess_imap")] == 5);
	assert_true(s.value[ds("authf_imap")] == 9);
	assert_true(isnan(s.value[ds("authf_smtp")]));
	assert_true(s.value[ds("conn_smtp")] == 40);
	assert_true(s.value[ds("tls_smtp")] == 30);
	assert_true(isnan(s.value[ds("ha_state")]));
	assert_int_equal(s.bucket_count, 3);
	/* without a previous scrape, no percentile */
	dash_scrape_quantiles(&s, NULL);
	assert_true(isnan(s.value[ds("deliv_p50")]));
}

static void
test_percentiles_and_update_line(void **state ATTR_UNUSED)
{
	struct dash_scrape a, b;
	char *error = NULL;
	struct buf line;

	dash_scrape_init(&a);
	dash_scrape_init(&b);
	assert_int_equal(dash_scrape_parse(&a, body1, strlen(body1), &error), 0);
	assert_int_equal(dash_scrape_parse(&b, body2, strlen(body2), &error), 0);
	dash_scrape_quantiles(&a, NULL);
	dash_scrape_quantiles(&b, &a);
	/* 10 observations in (0.01, 0.1]: p50 = 0.01 + 0.09 * 0.5 */
	assert_true(fabs(b.value[ds("deliv_p50")] - 0.055) < 1e-12);
	assert_true(fabs(b.value[ds("deliv_p90")] - 0.091) < 1e-12);

	buf_init(&line);
	a.value[ds("msgs_in")] = 100.9; /* DERIVE takes integers */
	dash_scrape_format_update(&a, 1700000000.25, &line);
	assert_true(strncmp(buf_data(&line), "1700000000.250:100:250:U:U:7:1.5:", 33)
		== 0);
	/* one field per data source */
	size_t colons = 0;
	for (const char *p = buf_data(&line); *p != '\0'; p++)
		colons += *p == ':';
	assert_int_equal(colons, dash_layout_ds_count);
	buf_reset(&line);
	dash_scrape_format_unknown(5, &line);
	assert_true(strncmp(buf_data(&line), "5.000:U:U:U", 11) == 0);
	buf_clear(&line);
}

static void
test_not_metrics(void **state ATTR_UNUSED)
{
	static const char *const bad[] = {
		"",
		"<html><body>502 Bad Gateway</body></html>\n",
		"# EOF\n",
		"\x01\x02\x03 garbage",
	};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		struct dash_scrape s;
		char *error = NULL;
		dash_scrape_init(&s);
		if (dash_scrape_parse(&s, bad[i], strlen(bad[i]), &error) != -1)
			fail_msg("bad body %zu accepted", i);
		assert_non_null(error);
		free(error);
	}
}

/* every prefix of a body (a cut connection) parses or is refused: never a
 * crash, and never a wrong value for a sample that was complete */
static void
test_every_prefix(void **state ATTR_UNUSED)
{
	for (size_t len = 0; len <= strlen(body1); len++) {
		struct dash_scrape s;
		char *error = NULL;
		dash_scrape_init(&s);
		if (dash_scrape_parse(&s, body1, len, &error) < 0) {
			free(error);
			continue;
		}
		double q = s.value[ds("queue")];
		assert_true(isnan(q) || q == 7);
	}
}

static void
test_bucket_state_file(void **state ATTR_UNUSED)
{
	struct dash_scrape a, b;
	char *error = NULL;
	char path[] = "/tmp/test_scrape_hist.XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	dash_scrape_init(&a);
	assert_int_equal(dash_scrape_parse(&a, body1, strlen(body1), &error), 0);
	dash_buckets_sort(a.buckets, a.bucket_count);
	assert_int_equal(dash_scrape_save_buckets(&a, path), 0);
	dash_scrape_init(&b);
	assert_int_equal(dash_scrape_load_buckets(&b, path), 0);
	assert_int_equal(b.bucket_count, a.bucket_count);
	for (size_t i = 0; i < a.bucket_count; i++) {
		assert_true(a.buckets[i].le == b.buckets[i].le ||
			(isinf(a.buckets[i].le) && isinf(b.buckets[i].le)));
		assert_true(a.buckets[i].count == b.buckets[i].count);
	}
	unlink(path);
	assert_int_equal(dash_scrape_load_buckets(&b, path), -1);
}

static void
test_cacti_line(void **state ATTR_UNUSED)
{
	struct dash_scrape s;
	char *error = NULL;
	struct buf line;

	dash_scrape_init(&s);
	assert_int_equal(dash_scrape_parse(&s, body1, strlen(body1), &error), 0);
	buf_init(&line);
	dash_cacti_format(&s, &line);
	assert_true(strncmp(buf_data(&line), "msgs_in:100 delivered:250 bytes_in:U ",
		37) == 0);
	assert_non_null(strstr(buf_data(&line), " queue:7 "));
	assert_non_null(strstr(buf_data(&line), " ha_state:U\n"));
	buf_reset(&line);
	dash_cacti_format(NULL, &line);
	assert_non_null(strstr(buf_data(&line), "msgs_in:U delivered:U"));
	buf_clear(&line);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mapping),
		cmocka_unit_test(test_percentiles_and_update_line),
		cmocka_unit_test(test_not_metrics),
		cmocka_unit_test(test_every_prefix),
		cmocka_unit_test(test_bucket_state_file),
		cmocka_unit_test(test_cacti_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
