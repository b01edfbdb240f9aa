/* test_layout.c: the RRD layout and graph tables are consistent; node
 * names; HTML escaping; settings table defaults. */
#include "postier.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/cfg.h"
#include "core/metric.h"
#include "dash_config.h"
#include "dash_html.h"
#include "dash_layout.h"

static bool
is_ds(const char *name)
{
	for (size_t i = 0; i < dash_layout_ds_count; i++) {
		if (strcmp(dash_layout_ds[i].ds, name) == 0)
			return true;
	}
	return false;
}

static void
test_ds_names(void **state ATTR_UNUSED)
{
	for (size_t i = 0; i < dash_layout_ds_count; i++) {
		const char *n = dash_layout_ds[i].ds;
		/* rrdtool: 1-19 characters of [a-zA-Z0-9_] */
		if (strlen(n) < 1 || strlen(n) > 19 ||
		    strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			"0123456789_") != strlen(n))
			fail_msg("bad DS name %s", n);
		for (size_t j = 0; j < i; j++) {
			if (strcmp(dash_layout_ds[j].ds, n) == 0)
				fail_msg("DS %s twice", n);
		}
	}
}

/* every graphed metric is one postierd exports (metric_names.def), except
 * the documented HA placeholder */
static void
test_metrics_exist(void **state ATTR_UNUSED)
{
	for (size_t i = 0; i < dash_layout_ds_count; i++) {
		const struct dash_ds *d = &dash_layout_ds[i];
		if (strcmp(d->metric, DASH_HA_STATE_METRIC) == 0)
			continue;
		bool found = false;
		for (size_t m = 0; m < METRIC_COUNT && !found; m++) {
			const struct metric_desc *md = &metric_descs[m];
			if (strcmp(md->name, d->metric) != 0)
				continue;
			if (d->label == NULL) {
				found = true;
				continue;
			}
			/* "proto=smtp" against proto="smtp" */
			char want[64];
			const char *eq = strchr(d->label, '=');
			snprintf(want, sizeof(want), "%.*s=\"%s\"", (int)(eq - d->label),
				d->label, eq + 1);
			found = strcmp(md->labels, want) == 0;
		}
		if (!found)
			fail_msg("DS %s: metric %s{%s} not in metric_names.def", d->ds,
				d->metric, d->label != NULL ? d->label : "");
	}
}

static void
test_graphs_use_known_sources(void **state ATTR_UNUSED)
{
	for (size_t g = 0; g < dash_layout_graph_count; g++) {
		const struct dash_graph *gr = &dash_layout_graphs[g];
		assert_non_null(gr->title);
		assert_non_null(gr->vlabel);
		size_t drawn = 0;
		for (size_t s = 0; s < DASH_MAX_SERIES && gr->series[s].vname; s++) {
			const struct dash_series *se = &gr->series[s];
			if ((se->ds == NULL) == (se->rpn == NULL))
				fail_msg("%s/%s: exactly one of ds and rpn", gr->id, se->vname);
			if (se->ds != NULL && !is_ds(se->ds))
				fail_msg("%s/%s: unknown DS %s", gr->id, se->vname, se->ds);
			if (se->draw[0] != '\0') {
				drawn++;
				if (se->color == NULL || strlen(se->color) != 7 ||
				    se->legend == NULL)
					fail_msg("%s/%s: colour and legend needed", gr->id,
						se->vname);
			}
		}
		if (drawn == 0)
			fail_msg("%s draws nothing", gr->id);
	}
}

static void
test_create_args(void **state ATTR_UNUSED)
{
	static const long steps[] = { 1, 10, 60, 300 };
	for (size_t k = 0; k < N_ELEMENTS(steps); k++) {
		char **argv;
		int argc = dash_layout_create_args(steps[k], &argv);
		assert_int_equal(argc, (int)dash_layout_ds_count + 8);
		assert_true(strncmp(argv[0], "DS:msgs_in:DERIVE:", 18) == 0);
		char want[64];
		snprintf(want, sizeof(want), "DS:queue:GAUGE:%ld:0:U", steps[k] * 2);
		bool seen = false;
		for (int i = 0; i < argc; i++)
			seen |= strcmp(argv[i], want) == 0;
		assert_true(seen);
		/* first archive: one step per row */
		assert_true(strncmp(argv[dash_layout_ds_count], "RRA:AVERAGE:0.5:1:", 18)
			== 0);
		dash_layout_free_args(argv, argc);
	}
}

static void
test_node_names(void **state ATTR_UNUSED)
{
	static const struct { const char *name; bool ok; } rows[] = {
		{ "mx1", true }, { "node-a.example_1", true }, { "", false },
		{ ".hidden", false }, { "../x", false }, { "a/b", false },
		{ "a b", false }, { "<script>", false },
		{ "0123456789012345678901234567890123456789012345678901234567890123",
			true },
		{ "01234567890123456789012345678901234567890123456789012345678901234",
			false },
	};
	for (size_t i = 0; i < N_ELEMENTS(rows); i++) {
		if (dash_node_name_is_valid(rows[i].name) != rows[i].ok)
			fail_msg("node name \"%s\": want %s", rows[i].name,
				rows[i].ok ? "valid" : "invalid");
	}
}

static void
test_node_items(void **state ATTR_UNUSED)
{
	static const struct { const char *in; bool ok; } rows[] = {
		{ "a=http://127.0.0.1:9/metrics", true },
		{ "a=https://h/metrics", true },
		{ "a=", false }, { "=http://x/", false }, { "a", false },
		{ "a=ftp://x/", false }, { "../a=http://x/", false },
	};
	for (size_t i = 0; i < N_ELEMENTS(rows); i++) {
		char *name = NULL, *url = NULL, *error = NULL;
		int ret = dash_config_split_node(rows[i].in, &name, &url, &error);
		if ((ret == 0) != rows[i].ok)
			fail_msg("node item \"%s\": returned %d", rows[i].in, ret);
		free(name);
		free(url);
		free(error);
	}
}

static void
test_html_escape(void **state ATTR_UNUSED)
{
	struct buf b;

	buf_init(&b);
	dash_html_escape(&b, "<a href=\"x\">Tom & 'Jerry'</a>");
	assert_string_equal(buf_data(&b),
		"&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;");
	buf_clear(&b);
}

static void
test_settings_defaults(void **state ATTR_UNUSED)
{
	struct dash_settings set;
	char *error = NULL;
	static const char text[] = "[dash]\nrrd_dir = /x\n[collect]\nstep = 30s\n"
		"node = a=http://127.0.0.1:1/\nnode = b=http://127.0.0.1:2/\n";

	memset(&set, 0, sizeof(set));
	assert_int_equal(cfg_load_string(dash_config_defs, dash_config_def_count,
		&set, "t", text, strlen(text), &error), 0);
	assert_string_equal(set.rrd_dir, "/x");
	assert_true(set.step_ms == 30000);
	assert_true(set.timeout_ms == 10000);
	assert_int_equal(set.nodes.count, 2);
	assert_null(set.daemon);
	cfg_free(dash_config_defs, dash_config_def_count, &set);

	memset(&set, 0, sizeof(set));
	static const char bad[] = "[collect]\nstep = 0\n";
	assert_int_equal(cfg_load_string(dash_config_defs, dash_config_def_count,
		&set, "t", bad, strlen(bad), &error), -1);
	free(error);
	cfg_free(dash_config_defs, dash_config_def_count, &set);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ds_names),
		cmocka_unit_test(test_metrics_exist),
		cmocka_unit_test(test_graphs_use_known_sources),
		cmocka_unit_test(test_create_args),
		cmocka_unit_test(test_node_names),
		cmocka_unit_test(test_node_items),
		cmocka_unit_test(test_html_escape),
		cmocka_unit_test(test_settings_defaults),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
