/* test_openmetrics.c: the OpenMetrics text reader (lib/proto/openmetrics.c):
 * table rows for single lines, a whole postierd-style exposition, and the
 * same document fed whole and split at every byte must agree. */
#include "postier.h"

#include <math.h>
#include <stdarg.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/metric.h"
#include "proto/openmetrics.h"

static void
test_lines(void **state)
{
	(void)state;
	static const struct {
		const char *name, *in;
		int ret;
		const char *sample, *labels; /* labels as n=v,n=v */
		double value;
	} rows[] = {
		{ "plain", "up 1", 1, "up", "", 1 },
		{ "labels", "a_total{proto=\"smtp\",x=\"y\"} 42", 1,
			"a_total", "proto=smtp,x=y", 42 },
		{ "trailing comma", "a{b=\"c\",} 1", 1, "a", "b=c", 1 },
		{ "empty labels", "a{} 3.5", 1, "a", "", 3.5 },
		{ "escapes", "a{p=\"q\\\"\\\\\\n\"} 1", 1, "a", "p=q\"\\\n", 1 },
		{ "comma in value", "a{p=\"1,2\"} 1", 1, "a", "p=1,2", 1 },
		{ "timestamp", "a 1 1700000000.5", 1, "a", "", 1 },
		{ "exemplar", "a_bucket{le=\"0.1\"} 8 # {id=\"x\"} 0.05", 1,
			"a_bucket", "le=0.1", 8 },
		{ "exponent", "a 1.5e3", 1, "a", "", 1500 },
		{ "negative", "a -2", 1, "a", "", -2 },
		{ "plus inf", "a{le=\"+Inf\"} +Inf", 1, "a", "le=+Inf", INFINITY },
		{ "crlf", "a 7\r", 1, "a", "", 7 },
		{ "colon name", "a:b:c 1", 1, "a:b:c", "", 1 },
		{ "tabs", "a\t\t9", 1, "a", "", 9 },
		{ "comment", "# HELP a b", 0, NULL, NULL, 0 },
		{ "blank", "", 0, NULL, NULL, 0 },
		{ "no value", "a", -1, NULL, NULL, 0 },
		{ "bad value", "a x", -1, NULL, NULL, 0 },
		{ "hex value", "a 0x10", -1, NULL, NULL, 0 },
		{ "bad name", "1a 1", -1, NULL, NULL, 0 },
		{ "unterminated labels", "a{b=\"c\" 1", -1, NULL, NULL, 0 },
		{ "unterminated value", "a{b=\"c} 1", -1, NULL, NULL, 0 },
		{ "unquoted label", "a{b=c} 1", -1, NULL, NULL, 0 },
		{ "bad escape", "a{b=\"\\t\"} 1", -1, NULL, NULL, 0 },
		{ "bad label name", "a{1b=\"c\"} 1", -1, NULL, NULL, 0 },
		{ "trailing garbage", "a 1 2 3", -1, NULL, NULL, 0 },
		{ "bad timestamp", "a 1 x", -1, NULL, NULL, 0 },
		{ "missing space", "a{}1", -1, NULL, NULL, 0 },
	};
	for (size_t i = 0; i < N_ELEMENTS(rows); i++) {
		struct openmetrics_sample s;
		const char *err = NULL;
		int ret = openmetrics_parse_sample(rows[i].in,
			strlen(rows[i].in), &s, &err);
		if (ret != rows[i].ret)
			fail_msg("row '%s': ret %d want %d (%s)", rows[i].name,
				ret, rows[i].ret, err ? err : "");
		if (ret != 1)
			continue;
		if (strcmp(s.name, rows[i].sample) != 0)
			fail_msg("row '%s': name '%s'", rows[i].name, s.name);
		struct buf b;
		buf_init(&b);
		for (size_t k = 0; k < s.n_labels; k++)
			buf_printf(&b, "%s%s=%s", k ? "," : "",
				s.labels[k].name, s.labels[k].value);
		if (strcmp(buf_data(&b), rows[i].labels) != 0)
			fail_msg("row '%s': labels '%s'", rows[i].name,
				buf_data(&b));
		buf_clear(&b);
		if (!(s.value == rows[i].value))
			fail_msg("row '%s': value %g", rows[i].name, s.value);
		openmetrics_sample_clear(&s);
	}
}

static void
test_numbers(void **state)
{
	(void)state;
	double v;
	assert_int_equal(openmetrics_parse_number("NaN", 3, &v), 0);
	assert_true(isnan(v));
	assert_int_equal(openmetrics_parse_number("-Inf", 4, &v), 0);
	assert_true(isinf(v) && v < 0);
	assert_int_equal(openmetrics_parse_number("inf", 3, &v), 0);
	assert_true(isinf(v) && v > 0);
	assert_int_equal(openmetrics_parse_number("infinity", 8, &v), -1);
	assert_int_equal(openmetrics_parse_number("", 0, &v), -1);
	assert_int_equal(openmetrics_parse_number(".", 1, &v), -1);
	assert_int_equal(openmetrics_parse_number("1e", 2, &v), -1);
}

static const char doc_text[] =
	"# TYPE postier_queue_messages gauge\n"
	"# HELP postier_queue_messages Messages in the queue\n"
	"postier_queue_messages 12\n"
	"# TYPE postier_connections counter\n"
	"postier_connections_total{proto=\"smtp\"} 100\n"
	"postier_connections_total{proto=\"pop3\"} 20\r\n"
	"postier_connections_created{proto=\"smtp\"} 1700000000\n"
	"this is not a sample\n"
	"# some unknown comment\n"
	"\n"
	"# TYPE postier_fsync_seconds histogram\n"
	"# UNIT postier_fsync_seconds seconds\n"
	"postier_fsync_seconds_bucket{le=\"0.001\"} 3\n"
	"postier_fsync_seconds_bucket{le=\"+Inf\"} 5\n"
	"postier_fsync_seconds_count 5\n"
	"postier_fsync_seconds_sum 0.25\n"
	"other_metric 1\n"
	"# EOF\n"
	"after_eof 1\n";

static void
check_doc(const struct openmetrics_doc *doc)
{
	assert_true(doc->saw_eof);
	assert_int_equal(doc->malformed_lines, 1);
	assert_int_equal(doc->n_samples, 9);
	assert_string_equal(doc->samples[0].name, "postier_queue_messages");
	assert_string_equal(doc->samples[0].family, "postier_queue_messages");
	assert_int_equal(doc->samples[0].type, OPENMETRICS_TYPE_GAUGE);
	assert_string_equal(doc->samples[2].family, "postier_connections");
	assert_int_equal(doc->samples[2].type, OPENMETRICS_TYPE_COUNTER);
	assert_string_equal(openmetrics_label(&doc->samples[2], "proto"),
		"pop3");
	assert_true(doc->samples[2].value == 20);
	assert_string_equal(doc->samples[3].name,
		"postier_connections_created");
	assert_string_equal(doc->samples[4].family, "postier_fsync_seconds");
	assert_int_equal(doc->samples[4].type, OPENMETRICS_TYPE_HISTOGRAM);
	assert_string_equal(doc->samples[8].family, "other_metric");
	assert_int_equal(doc->samples[8].type, OPENMETRICS_TYPE_UNKNOWN);
	struct openmetrics_label want = { "proto", "smtp" };
	assert_true(openmetrics_labels_match(&doc->samples[1], &want, 1));
	assert_false(openmetrics_labels_match(&doc->samples[2], &want, 1));
	assert_false(openmetrics_labels_match(&doc->samples[0], &want, 1));
}

static void
test_document(void **state)
{
	(void)state;
	struct openmetrics_doc *doc = openmetrics_parse(doc_text,
		strlen(doc_text));
	check_doc(doc);
	openmetrics_free(&doc);
	assert_null(doc);
}

/* The reader takes whole documents; a scrape cut short at any byte must
 * still parse (fewer samples, never a crash, never a wrong value). */
static void
test_truncated_everywhere(void **state)
{
	(void)state;
	size_t len = strlen(doc_text);
	for (size_t cut = 0; cut <= len; cut++) {
		char *copy = malloc(cut + 1);
		memcpy(copy, doc_text, cut);
		copy[cut] = '\0';
		struct openmetrics_doc *doc = openmetrics_parse(copy, cut);
		for (size_t i = 0; i < doc->n_samples; i++) {
			const struct openmetrics_sample *s = &doc->samples[i];
			if (strcmp(s->name, "postier_queue_messages") == 0 &&
			    s->value != 12 && s->value != 1)
				fail_msg("cut %zu: queue value %g", cut,
					s->value);
		}
		if (cut == len)
			check_doc(doc);
		openmetrics_free(&doc);
		free(copy);
	}
}

/* What postierd's registry renders is what the plugins read. */
static void
test_reads_metric_render(void **state)
{
	(void)state;
	struct buf out;
	metric_reset_all();
	metric_gauge_set(METRIC_QUEUE_MESSAGES, 7);
	metric_add(METRIC_CONN_SMTP, 3);
	buf_init(&out);
	metric_render(&out);
	struct openmetrics_doc *doc = openmetrics_parse(buf_data(&out),
		buf_len(&out));
	assert_true(doc->saw_eof);
	assert_int_equal(doc->malformed_lines, 0);
	bool saw_queue = false, saw_conn = false;
	struct openmetrics_label smtp = { "proto", "smtp" };
	for (size_t i = 0; i < doc->n_samples; i++) {
		const struct openmetrics_sample *s = &doc->samples[i];
		if (strcmp(s->name, "postier_queue_messages") == 0) {
			assert_true(s->value == 7);
			saw_queue = true;
		}
		if (strcmp(s->name, "postier_connections_total") == 0 &&
		    openmetrics_labels_match(s, &smtp, 1)) {
			assert_true(s->value == 3);
			assert_int_equal(s->type, OPENMETRICS_TYPE_COUNTER);
			saw_conn = true;
		}
	}
	assert_true(saw_queue);
	assert_true(saw_conn);
	openmetrics_free(&doc);
	buf_clear(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_document),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_reads_metric_render),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
