/* test_metric_doc.c: docs/metrics.md and lib/core/metric_names.def list the
 * same series with the same type, unit, labels and help.
 *
 * The document's table rows look like
 *   | `postier_sessions` | gauge | - | `proto="smtp"` | Open sessions |
 * (unit and labels "-" when empty). The file is found through the
 * POSTIER_SOURCE_DIR environment variable (set by ctest). */
#include "postier.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/metric.h"

#define DOC_MAX_ROWS 512
#define DOC_CELLS 5

struct doc_row {
	unsigned line;
	char *cell[DOC_CELLS]; /* name, type, unit, labels, help */
	bool matched;
};

static char *
doc_trim_cell(const char *s, size_t len)
{
	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	/* `code` spans: the content only */
	if (len >= 2 && s[0] == '`' && s[len - 1] == '`') {
		s++;
		len -= 2;
	}
	char *out = malloc(len + 1);
	assert_non_null(out);
	memcpy(out, s, len);
	out[len] = '\0';
	if (strcmp(out, "-") == 0)
		out[0] = '\0';
	return out;
}

/* Splits "| a | b | c |" into cells. Returns the number of cells. */
static int
doc_split(const char *line, char *cells[], int max)
{
	int n = 0;
	const char *p = strchr(line, '|');
	while (p != NULL && n < max + 1) {
		const char *next = strchr(p + 1, '|');
		if (next == NULL)
			break;
		if (n < max)
			cells[n] = doc_trim_cell(p + 1, (size_t)(next - p - 1));
		n++;
		p = next;
	}
	return n;
}

static size_t
doc_read_rows(struct doc_row *rows)
{
	const char *src = getenv("POSTIER_SOURCE_DIR");
	char path[4096];
	snprintf(path, sizeof(path), "%s/docs/metrics.md",
		src != NULL ? src : ".");
	FILE *f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot open %s (set POSTIER_SOURCE_DIR)", path);
	char line[4096];
	unsigned line_no = 0;
	size_t n = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		line_no++;
		if (strncmp(line, "| `", 3) != 0)
			continue;
		assert_true(n < DOC_MAX_ROWS);
		char *cells[DOC_CELLS + 1] = { 0 };
		int got = doc_split(line, cells, DOC_CELLS);
		if (got != DOC_CELLS)
			fail_msg("docs/metrics.md:%u: %d cells, want %d", line_no, got,
				DOC_CELLS);
		rows[n].line = line_no;
		memcpy(rows[n].cell, cells, sizeof(rows[n].cell));
		rows[n].matched = false;
		n++;
	}
	fclose(f);
	return n;
}

static const char *
doc_type_name(enum metric_type t)
{
	switch (t) {
	case METRIC_TYPE_COUNTER: return "counter";
	case METRIC_TYPE_GAUGE: return "gauge";
	case METRIC_TYPE_HIST_SECONDS:
	case METRIC_TYPE_HIST_COUNT: return "histogram";
	}
	return "?";
}

static void
test_doc_matches_code(void **state ATTR_UNUSED)
{
	static struct doc_row rows[DOC_MAX_ROWS];
	size_t n = doc_read_rows(rows);
	int errors = 0;

	assert_true(n > 0);
	for (int id = 0; id < METRIC_COUNT; id++) {
		const struct metric_desc *d = &metric_descs[id];
		struct doc_row *row = NULL;
		for (size_t i = 0; i < n; i++) {
			if (!rows[i].matched && strcmp(rows[i].cell[0], d->name) == 0 &&
				strcmp(rows[i].cell[3], d->labels) == 0) {
				row = &rows[i];
				break;
			}
		}
		if (row == NULL) {
			print_error("%s{%s}: in metric_names.def, not in docs/metrics.md\n",
				d->name, d->labels);
			errors++;
			continue;
		}
		row->matched = true;
		const char *want[DOC_CELLS] = { d->name, doc_type_name(d->type),
			d->unit, d->labels, d->help };
		static const char *const what[DOC_CELLS] = { "name", "type", "unit",
			"labels", "help" };
		for (int c = 1; c < DOC_CELLS; c++) {
			if (strcmp(row->cell[c], want[c]) != 0) {
				print_error("docs/metrics.md:%u: %s{%s}: %s is \"%s\", "
					"metric_names.def says \"%s\"\n", row->line, d->name,
					d->labels, what[c], row->cell[c], want[c]);
				errors++;
			}
		}
		/* conventions the format relies on */
		size_t len = strlen(d->name);
		bool total = len > 6 && strcmp(d->name + len - 6, "_total") == 0;
		if ((d->type == METRIC_TYPE_COUNTER) != total) {
			print_error("%s: counters and only counters end in _total\n",
				d->name);
			errors++;
		}
		if (d->type == METRIC_TYPE_HIST_SECONDS &&
			strcmp(d->unit, "seconds") != 0) {
			print_error("%s: a latency histogram has unit seconds\n",
				d->name);
			errors++;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (!rows[i].matched) {
			print_error("docs/metrics.md:%u: %s{%s} is not in "
				"metric_names.def\n", rows[i].line, rows[i].cell[0],
				rows[i].cell[3]);
			errors++;
		}
		for (int c = 0; c < DOC_CELLS; c++)
			free(rows[i].cell[c]);
	}
	assert_int_equal(errors, 0);
}

/* Series sharing a name are adjacent and agree on type, unit and help
 * (one OpenMetrics family). */
static void
test_families_consistent(void **state ATTR_UNUSED)
{
	for (int id = 1; id < METRIC_COUNT; id++) {
		const struct metric_desc *a = &metric_descs[id - 1];
		const struct metric_desc *b = &metric_descs[id];
		if (strcmp(a->name, b->name) == 0) {
			assert_int_equal(a->type, b->type);
			assert_string_equal(a->unit, b->unit);
			assert_string_equal(a->help, b->help);
			assert_string_not_equal(a->labels, b->labels);
			continue;
		}
		for (int j = 0; j < id - 1; j++) {
			if (strcmp(metric_descs[j].name, b->name) == 0)
				fail_msg("%s: series of one family must be adjacent",
					b->name);
		}
	}
}

/* The rendered text names every documented family once. */
static void
test_render_has_every_family(void **state ATTR_UNUSED)
{
	struct buf out;
	buf_init(&out);
	metric_render(&out);
	const char *text = buf_data(&out);
	for (int id = 0; id < METRIC_COUNT; id++) {
		const char *name = metric_descs[id].name;
		if (strstr(text, name) == NULL)
			fail_msg("%s missing from metric_render()", name);
	}
	size_t len = buf_len(&out);
	assert_true(len > 6);
	assert_string_equal(text + len - 6, "# EOF\n");
	buf_clear(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doc_matches_code),
		cmocka_unit_test(test_families_consistent),
		cmocka_unit_test(test_render_has_every_family),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
