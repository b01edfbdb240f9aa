/* test_patrol_vectors.c: every tests/vectors/patrol/NAME.vec rendered by
 * nagios-plugins/common/plugin.c in both formats must match byte for byte;
 * plus table rows for patrol_map() and the small parsers of plugin.c. */
#include "postier.h"

#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/buf.h"
#include "patrol.h"
#include "plugin.h"

static char *
read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	struct buf b;
	buf_init(&b);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	return buf_steal(&b);
}

static void
parse_range_arg(const char *name, const char *arg, struct threshold_range *r)
{
	const char *why;
	if (threshold_range_parse(arg, r, &why) < 0)
		fail_msg("%s: bad range '%s': %s", name, arg, why);
}

/* Builds the plugin result a vector describes and renders it. */
static void
run_vector(const char *name, char *text)
{
	char *nagios = strstr(text, "--- nagios\n");
	char *patrol = strstr(text, "--- patrol\n");
	if (nagios == NULL || patrol == NULL || patrol < nagios)
		fail_msg("%s: needs '--- nagios' then '--- patrol'", name);
	*nagios = '\0';
	nagios += strlen("--- nagios\n");
	*patrol = '\0';
	patrol += strlen("--- patrol\n");

	static char service[64];
	char status_text[512] = "";
	int state = -1;
	struct plugin p;
	plugin_init(&p, "check_vector", "");
	for (char *line = strtok(text, "\n"); line != NULL;
	    line = strtok(NULL, "\n")) {
		if (line[0] == '#')
			continue;
		if (strncmp(line, "service ", 8) == 0) {
			snprintf(service, sizeof(service), "%s", line + 8);
			p.service = service;
		} else if (strncmp(line, "state ", 6) == 0) {
			state = atoi(line + 6);
		} else if (strncmp(line, "text ", 5) == 0) {
			snprintf(status_text, sizeof(status_text), "%s",
				line + 5);
		} else if (strncmp(line, "long ", 5) == 0) {
			plugin_long(&p, "%s", line + 5);
		} else if (strncmp(line, "perf ", 5) == 0) {
			/* perf LABEL... VALUE UOM [k=v]...: the label may hold
			 * spaces, so fields are taken from the right. */
			char *fields[16];
			size_t n = 0;
			char *save = NULL;
			for (char *f = strtok_r(line + 5, " ", &save); f != NULL;
			    f = strtok_r(NULL, " ", &save))
				fields[n++] = f;
			size_t k = n;
			while (k > 0 && strchr(fields[k - 1], '=') != NULL)
				k--;
			if (k < 3)
				fail_msg("%s: short perf line", name);
			struct buf label;
			buf_init(&label);
			for (size_t i = 0; i < k - 2; i++)
				buf_printf(&label, "%s%s", i ? " " : "",
					fields[i]);
			struct threshold t;
			threshold_init(&t);
			double min = NAN, max = NAN;
			for (size_t i = k; i < n; i++) {
				if (strncmp(fields[i], "warn=", 5) == 0) {
					parse_range_arg(name, fields[i] + 5,
						&t.warn);
					t.has_warn = true;
				} else if (strncmp(fields[i], "crit=", 5) == 0) {
					parse_range_arg(name, fields[i] + 5,
						&t.crit);
					t.has_crit = true;
				} else if (strncmp(fields[i], "min=", 4) == 0) {
					min = atof(fields[i] + 4);
				} else if (strncmp(fields[i], "max=", 4) == 0) {
					max = atof(fields[i] + 4);
				}
			}
			const char *uom = strcmp(fields[k - 1], "-") == 0 ? "" :
				fields[k - 1];
			plugin_perf_add(&p, buf_data(&label),
				atof(fields[k - 2]), uom, &t, min, max);
			buf_clear(&label);
		} else {
			fail_msg("%s: unknown line '%s'", name, line);
		}
	}
	if (state < 0 || state > 3 || p.service[0] == '\0')
		fail_msg("%s: service and state are required", name);

	struct buf out;
	buf_init(&out);
	p.output = PLUGIN_OUTPUT_NAGIOS;
	plugin_render(&p, (enum plugin_state)state, status_text, &out);
	if (strcmp(buf_data(&out), nagios) != 0)
		fail_msg("%s: nagios output\n got: %s\nwant: %s", name,
			buf_data(&out), nagios);
	buf_reset(&out);
	p.output = PLUGIN_OUTPUT_PATROL;
	plugin_render(&p, (enum plugin_state)state, status_text, &out);
	if (strcmp(buf_data(&out), patrol) != 0)
		fail_msg("%s: patrol output\n got: %s\nwant: %s", name,
			buf_data(&out), patrol);
	buf_clear(&out);
	plugin_clear(&p);
}

static void
test_vectors(void **state)
{
	(void)state;
	const char *src = getenv("POSTIER_SOURCE_DIR");
	if (src == NULL)
		src = ".";
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/tests/vectors/patrol", src);
	DIR *d = opendir(dir);
	if (d == NULL)
		fail_msg("cannot open %s (set POSTIER_SOURCE_DIR)", dir);
	int count = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		if (len < 5 || strcmp(de->d_name + len - 4, ".vec") != 0)
			continue;
		char path[8192];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		char *text = read_file(path);
		run_vector(de->d_name, text);
		free(text);
		count++;
	}
	closedir(d);
	assert_true(count >= 5);
}

static void
test_patrol_map(void **state)
{
	(void)state;
	/* expected: "B lo hi L;1 lo hi L;2 lo hi L" with "-" for disabled;
	 * "x" for unmapped */
	static const struct {
		const char *name, *warn, *crit;
		double min, max;
		const char *want;
	} rows[] = {
		{ "upper, min 0", "1", "2", 0, NAN,
			"-;1 1 2 W;2 2 inf A" },
		{ "upper, no min", "1", "2", NAN, NAN,
			"B 0 2 A;1 1 2 W;-" },
		{ "lower", "30:", "7:", NAN, NAN,
			"-;1 -inf 7 A;2 7 30 W" },
		{ "only critical upper", NULL, "~:5", NAN, NAN,
			"-;-;2 5 inf A" },
		{ "only warning lower", "10:", NULL, NAN, NAN,
			"-;1 -inf 10 W;-" },
		{ "nothing", NULL, NULL, NAN, NAN, "-;-;-" },
		{ "inside", NULL, "@3:4", NAN, NAN, "-;1 3 4 A;-" },
		{ "exactly one", NULL, "1:1", 0, 2,
			"-;1 0 1 A;2 1 2 A" },
		{ "two sided", "10:20", "5:25", NAN, NAN,
			"B 5 25 A;1 5 10 W;2 20 25 W" },
		{ "unmapped", "0:10", "~:20", NAN, NAN, "x" },
		{ "min cuts lower ray", "10", "20", 0, 100,
			"-;1 10 20 W;2 20 100 A" },
	};
	for (size_t i = 0; i < N_ELEMENTS(rows); i++) {
		struct threshold t;
		const char *why;
		threshold_init(&t);
		if (rows[i].warn != NULL) {
			assert_int_equal(threshold_range_parse(rows[i].warn,
				&t.warn, &why), 0);
			t.has_warn = true;
		}
		if (rows[i].crit != NULL) {
			assert_int_equal(threshold_range_parse(rows[i].crit,
				&t.crit, &why), 0);
			t.has_crit = true;
		}
		struct patrol_ranges r;
		struct buf got;
		buf_init(&got);
		if (patrol_map(&t, !isnan(rows[i].min), rows[i].min,
		    !isnan(rows[i].max), rows[i].max, &r) < 0) {
			buf_append_str(&got, "x");
		} else {
			const struct patrol_range *rs[3] = { &r.border,
				&r.alarm1, &r.alarm2 };
			const char *tag[3] = { "B", "1", "2" };
			for (int k = 0; k < 3; k++) {
				if (k > 0)
					buf_append_char(&got, ';');
				if (!rs[k]->enabled) {
					buf_append_char(&got, '-');
					continue;
				}
				buf_printf(&got, "%s ", tag[k]);
				if (rs[k]->min_infinite)
					buf_append_str(&got, "-inf");
				else
					buf_printf(&got, "%g", rs[k]->min);
				buf_append_char(&got, ' ');
				if (rs[k]->max_infinite)
					buf_append_str(&got, "inf");
				else
					buf_printf(&got, "%g", rs[k]->max);
				buf_printf(&got, " %s", rs[k]->level ==
					THRESHOLD_LEVEL_CRITICAL ? "A" : "W");
			}
		}
		if (strcmp(buf_data(&got), rows[i].want) != 0)
			fail_msg("row '%s': got '%s' want '%s'", rows[i].name,
				buf_data(&got), rows[i].want);
		buf_clear(&got);
	}
}

static void
test_timeout_and_state(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int ret;
		unsigned seconds;
		enum plugin_state state;
	} rows[] = {
		{ "10", 0, 10, PLUGIN_STATE_CRITICAL },
		{ "5:unknown", 0, 5, PLUGIN_STATE_UNKNOWN },
		{ "5:UNKNOWN", 0, 5, PLUGIN_STATE_UNKNOWN },
		{ "5:warning", 0, 5, PLUGIN_STATE_WARNING },
		{ "5:ok", 0, 5, PLUGIN_STATE_OK },
		{ "5:3", 0, 5, PLUGIN_STATE_UNKNOWN },
		{ "5:critical", 0, 5, PLUGIN_STATE_CRITICAL },
		{ "0", -1, 0, 0 },
		{ "", -1, 0, 0 },
		{ "x", -1, 0, 0 },
		{ "-5", -1, 0, 0 },
		{ "5:", -1, 0, 0 },
		{ "5:bogus", -1, 0, 0 },
		{ "5:4", -1, 0, 0 },
		{ "5s", -1, 0, 0 },
		{ "99999999999999999999", -1, 0, 0 },
	};
	for (size_t i = 0; i < N_ELEMENTS(rows); i++) {
		unsigned s = 0;
		enum plugin_state st = PLUGIN_STATE_OK;
		int ret = plugin_parse_timeout(rows[i].in, &s, &st);
		if (ret != rows[i].ret)
			fail_msg("row '%s': ret %d", rows[i].in, ret);
		if (ret == 0 && (s != rows[i].seconds || st != rows[i].state))
			fail_msg("row '%s': %u %d", rows[i].in, s, st);
	}
}

static void
test_format_number(void **state)
{
	(void)state;
	static const struct {
		double in;
		const char *want;
	} rows[] = {
		{ 0, "0" }, { 12, "12" }, { -3.5, "-3.5" },
		{ 0.004123, "0.004123" }, { 1e-9, "0" }, { 1e20, "100000000000000000000" },
		{ 0.1, "0.1" }, { 2.50, "2.5" }, { NAN, "U" },
	};
	for (size_t i = 0; i < N_ELEMENTS(rows); i++) {
		struct buf b;
		buf_init(&b);
		plugin_format_number(&b, rows[i].in);
		if (strcmp(buf_data(&b), rows[i].want) != 0)
			fail_msg("row %zu: got %s want %s", i, buf_data(&b),
				rows[i].want);
		buf_clear(&b);
	}
}

static void
test_worst(void **state)
{
	(void)state;
	assert_int_equal(plugin_state_worst(PLUGIN_STATE_OK,
		PLUGIN_STATE_UNKNOWN), PLUGIN_STATE_UNKNOWN);
	assert_int_equal(plugin_state_worst(PLUGIN_STATE_WARNING,
		PLUGIN_STATE_UNKNOWN), PLUGIN_STATE_WARNING);
	assert_int_equal(plugin_state_worst(PLUGIN_STATE_CRITICAL,
		PLUGIN_STATE_WARNING), PLUGIN_STATE_CRITICAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_patrol_map),
		cmocka_unit_test(test_timeout_and_state),
		cmocka_unit_test(test_format_number),
		cmocka_unit_test(test_worst),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
