/* main.c: postier-dash command line: collect, render, report, cacti, synth.
 * Settings come from the table in dash_config.c (file with -c), options
 * override them. Exit status: 0 ok, 1 partly failed (some node, graph or
 * the CSV), 2 usage or configuration error, 3 nothing could be done. */
#include "postier.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "core/buf.h"
#include "core/cfg.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "dash_cacti.h"
#include "dash_collect.h"
#include "dash_config.h"
#include "dash_layout.h"
#include "dash_render.h"
#include "dash_report.h"
#include "dash_synth.h"

#define EXIT_PARTIAL 1
#define EXIT_USAGE 2
#define EXIT_FAILED 3

static const char usage_text[] =
"usage: postier-dash [-c FILE] [-n] [-q] COMMAND [options]\n"
"\n"
"commands:\n"
"  collect [--once | --cycles N] [--node NAME=URL]... [--rrd-dir DIR]\n"
"          [--step SECONDS] [--timeout SECONDS] [--daemon ADDRESS]\n"
"      scrape each node's /metrics into RRD_DIR/NAME.rrd every step\n"
"  render [--rrd-dir DIR] [--out DIR] [--node NAME]... [--jobs N]\n"
"         [--daemon ADDRESS] [--force]\n"
"      day/week/month/year PNGs, a page per node and OUT/index.html\n"
"      (a graph younger than one pixel of its period is kept; --force redraws)\n"
"  report RUN.json [--out DIR]\n"
"      a page for one postier-loadgen run (default OUT: RUN-report/)\n"
"  cacti [--state FILE] [--timeout SECONDS] URL\n"
"      one scrape in Cacti's data input format (field:value ...)\n"
"  synth --rrd-dir DIR --node NAME [--days N] [--step SECONDS]\n"
"      fill NAME.rrd with a synthetic history (demos, tests, benchmarks)\n"
"\n"
"global options:\n"
"  -c, --config FILE  settings file (INI, see docs/dashboards.md)\n"
"  -n                 print the effective settings and exit\n"
"  -q, --quiet        log warnings and errors only\n"
"  -h, --help         this help\n"
"  -V, --version      version\n"
"exit: 0 ok, 1 partly failed, 2 usage/configuration error, 3 failed\n";

static int
usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "postier-dash: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n(postier-dash --help for usage)\n");
	return EXIT_USAGE;
}

static int
set_opt(struct dash_settings *set, const char *section, const char *key,
	const char *value)
{
	char *error = NULL;

	if (cfg_set(dash_config_defs, dash_config_def_count, set, section, key,
	    value, &error) < 0) {
		fprintf(stderr, "postier-dash: --%s %s: %s\n", key, value, error);
		free(error);
		return -1;
	}
	return 0;
}

enum {
	OPT_ONCE = 256, OPT_CYCLES, OPT_NODE, OPT_RRD_DIR, OPT_STEP, OPT_TIMEOUT,
	OPT_DAEMON, OPT_OUT, OPT_JOBS, OPT_STATE, OPT_DAYS, OPT_FORCE,
};

static const struct option sub_options[] = {
	{ "once", no_argument, NULL, OPT_ONCE },
	{ "cycles", required_argument, NULL, OPT_CYCLES },
	{ "node", required_argument, NULL, OPT_NODE },
	{ "rrd-dir", required_argument, NULL, OPT_RRD_DIR },
	{ "step", required_argument, NULL, OPT_STEP },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "daemon", required_argument, NULL, OPT_DAEMON },
	{ "out", required_argument, NULL, OPT_OUT },
	{ "jobs", required_argument, NULL, OPT_JOBS },
	{ "state", required_argument, NULL, OPT_STATE },
	{ "days", required_argument, NULL, OPT_DAYS },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ NULL, 0, NULL, 0 },
};

struct sub_args {
	bool once;
	long cycles;
	bool nodes_given;
	const char *state;
	long days;
	long synth_step;
	struct cfg_list render_nodes;
};

/* Which options each command takes. */
static bool
option_allowed(const char *cmd, int opt)
{
	switch (opt) {
	case OPT_ONCE: case OPT_CYCLES: case OPT_STEP:
		return strcmp(cmd, "collect") == 0 || (opt == OPT_STEP &&
			strcmp(cmd, "synth") == 0);
	case OPT_NODE: case OPT_RRD_DIR:
		return strcmp(cmd, "collect") == 0 || strcmp(cmd, "render") == 0 ||
			strcmp(cmd, "synth") == 0;
	case OPT_TIMEOUT:
		return strcmp(cmd, "collect") == 0 || strcmp(cmd, "cacti") == 0;
	case OPT_DAEMON:
		return strcmp(cmd, "collect") == 0 || strcmp(cmd, "render") == 0;
	case OPT_OUT:
		return strcmp(cmd, "render") == 0 || strcmp(cmd, "report") == 0;
	case OPT_JOBS: case OPT_FORCE:
		return strcmp(cmd, "render") == 0;
	case OPT_STATE:
		return strcmp(cmd, "cacti") == 0;
	case OPT_DAYS:
		return strcmp(cmd, "synth") == 0;
	}
	return false;
}

static int
parse_sub(const char *cmd, int argc, char **argv, struct dash_settings *set,
	struct sub_args *a)
{
	long long ll;
	int c;

	optind = 0; /* 0: glibc re-initialises (argument permutation) */
	while ((c = getopt_long(argc, argv, "", sub_options, NULL)) != -1) {
		if (c == '?')
			return usage_error("%s: bad option", cmd);
		if (!option_allowed(cmd, c))
			return usage_error("%s: option not valid here", cmd);
		switch (c) {
		case OPT_ONCE:
			a->once = true;
			a->cycles = 1;
			break;
		case OPT_CYCLES:
			if (cfg_parse_int(optarg, &ll) < 0 || ll < 1)
				return usage_error("--cycles %s: expected a count >= 1", optarg);
			a->cycles = (long)ll;
			break;
		case OPT_NODE:
			if (strcmp(cmd, "collect") == 0) {
				if (!a->nodes_given) {
					/* command-line nodes replace the configured list */
					for (size_t i = 0; i < set->nodes.count; i++)
						free(set->nodes.items[i]);
					free(set->nodes.items);
					set->nodes.items = NULL;
					set->nodes.count = 0;
					a->nodes_given = true;
				}
				if (set_opt(set, "collect", "node", optarg) < 0)
					return EXIT_USAGE;
			} else {
				a->render_nodes.items = xrealloc(a->render_nodes.items,
					sizeof(char *) * (a->render_nodes.count + 2));
				a->render_nodes.items[a->render_nodes.count++] = optarg;
				a->render_nodes.items[a->render_nodes.count] = NULL;
			}
			break;
		case OPT_RRD_DIR:
			if (set_opt(set, "dash", "rrd_dir", optarg) < 0)
				return EXIT_USAGE;
			break;
		case OPT_STEP:
			if (strcmp(cmd, "synth") == 0) {
				if (cfg_parse_int(optarg, &ll) < 0 || ll < 1 || ll > 86400)
					return usage_error("--step %s: expected 1-86400", optarg);
				a->synth_step = (long)ll;
			} else if (set_opt(set, "collect", "step", optarg) < 0) {
				return EXIT_USAGE;
			}
			break;
		case OPT_TIMEOUT:
			if (set_opt(set, "collect", "timeout", optarg) < 0)
				return EXIT_USAGE;
			break;
		case OPT_DAEMON:
			if (set_opt(set, "dash", "daemon", optarg) < 0)
				return EXIT_USAGE;
			break;
		case OPT_OUT:
			if (set_opt(set, "render", "out_dir", optarg) < 0)
				return EXIT_USAGE;
			break;
		case OPT_JOBS:
			if (set_opt(set, "render", "jobs", optarg) < 0)
				return EXIT_USAGE;
			break;
		case OPT_FORCE:
			set->force = true;
			break;
		case OPT_STATE:
			a->state = optarg;
			break;
		case OPT_DAYS:
			if (cfg_parse_int(optarg, &ll) < 0 || ll < 1 || ll > 3650)
				return usage_error("--days %s: expected 1-3650", optarg);
			a->days = (long)ll;
			break;
		}
	}
	return 0;
}

static int
run_command(const char *cmd, int argc, char **argv, struct dash_settings *set,
	bool out_given_in_file, bool print_only)
{
	struct sub_args a = { .days = 400, .synth_step = 300 };
	int ret = parse_sub(cmd, argc, argv, set, &a);
	const char *positional = optind < argc ? argv[optind] : NULL;

	if (ret != 0 || print_only)
		goto out;
	if (positional != NULL && strcmp(cmd, "report") != 0 &&
	    strcmp(cmd, "cacti") != 0) {
		ret = usage_error("unexpected argument %s", positional);
		goto out;
	}
	if (optind + 1 < argc) {
		ret = usage_error("unexpected argument %s", argv[optind + 1]);
		goto out;
	}
	if (strcmp(cmd, "collect") == 0) {
		for (size_t i = 0; i < set->nodes.count; i++) {
			char *name, *url, *error;
			if (dash_config_split_node(set->nodes.items[i], &name, &url,
			    &error) < 0) {
				fprintf(stderr, "postier-dash: %s\n", error);
				free(error);
				ret = EXIT_USAGE;
				goto out;
			}
			free(name);
			free(url);
		}
		int r = dash_collect_run(set, a.cycles, a.once);
		ret = r < 0 ? EXIT_FAILED : r;
	} else if (strcmp(cmd, "render") == 0) {
		if (a.render_nodes.count > 0) {
			/* only these nodes (still shown when their RRD is missing) */
			for (size_t i = 0; i < set->nodes.count; i++)
				free(set->nodes.items[i]);
			free(set->nodes.items);
			set->nodes.items = NULL;
			set->nodes.count = 0;
			set->only_listed = true;
			for (size_t i = 0; i < a.render_nodes.count; i++) {
				if (set_opt(set, "collect", "node",
				    a.render_nodes.items[i]) < 0) {
					ret = EXIT_USAGE;
					goto out;
				}
			}
		}
		int r = dash_render_run(set);
		ret = r < 0 ? EXIT_FAILED : r;
	} else if (strcmp(cmd, "report") == 0) {
		if (positional == NULL) {
			ret = usage_error("%s: RUN.json expected", cmd);
			goto out;
		}
		struct dash_report_opts o = {
			.json_path = positional,
			.out_dir = out_given_in_file ? set->out_dir : NULL,
			.width = (long)set->width, .height = (long)set->height,
		};
		int r = dash_report_run(&o);
		ret = r < 0 ? EXIT_FAILED : r;
	} else if (strcmp(cmd, "cacti") == 0) {
		if (positional == NULL) {
			ret = usage_error("%s: URL expected", cmd);
			goto out;
		}
		ret = dash_cacti_run(positional, a.state, set->timeout_ms);
	} else if (strcmp(cmd, "synth") == 0) {
		if (a.render_nodes.count != 1) {
			ret = usage_error("%s: exactly one --node NAME expected", cmd);
			goto out;
		}
		if (!dash_node_name_is_valid(a.render_nodes.items[0])) {
			ret = usage_error("bad node name %s", a.render_nodes.items[0]);
			goto out;
		}
		ret = dash_synth_run(set->rrd_dir, a.render_nodes.items[0],
			a.synth_step, a.days) < 0 ? EXIT_FAILED : 0;
	} else {
		ret = usage_error("unknown command %s", cmd);
	}
out:
	free(a.render_nodes.items);
	return ret;
}

int
main(int argc, char **argv)
{
	static const struct option global_options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct dash_settings set;
	const char *config = NULL;
	bool print = false, quiet = false;
	char *error = NULL;
	int c, ret;

	while ((c = getopt_long(argc, argv, "+c:nqhV", global_options, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'n': print = true; break;
		case 'q': quiet = true; break;
		case 'h': fputs(usage_text, stdout); return 0;
		case 'V': printf("postier-dash %s\n", POSTIER_VERSION); return 0;
		default:
			fputs(usage_text, stderr);
			return EXIT_USAGE;
		}
	}
	memset(&set, 0, sizeof(set));
	if (config != NULL) {
		ret = cfg_load_file(dash_config_defs, dash_config_def_count, &set,
			config, &error);
	} else {
		ret = cfg_set_defaults(dash_config_defs, dash_config_def_count, &set,
			&error);
	}
	if (ret < 0) {
		fprintf(stderr, "postier-dash: %s\n", error);
		free(error);
		cfg_free(dash_config_defs, dash_config_def_count, &set);
		return EXIT_USAGE;
	}
	log_init("postier-dash", LOG_TARGET_STDERR, NULL,
		quiet ? LOG_LEVEL_WARN : LOG_LEVEL_INFO);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (print && optind >= argc) {
		struct buf out;
		buf_init(&out);
		cfg_print(dash_config_defs, dash_config_def_count, &set, &out);
		fwrite(buf_data(&out), 1, buf_len(&out), stdout);
		buf_clear(&out);
		ret = 0;
	} else if (optind >= argc) {
		fputs(usage_text, stderr);
		ret = EXIT_USAGE;
	} else {
		const char *cmd = argv[optind];
		/* the report goes next to RUN.json unless --out says otherwise */
		bool out_in_argv = false;
		for (int i = optind + 1; i < argc; i++) {
			if (strcmp(argv[i], "--out") == 0 ||
			    strncmp(argv[i], "--out=", 6) == 0)
				out_in_argv = true;
		}
		/* with -n the command's options are applied, then printed */
		ret = run_command(cmd, argc - optind, argv + optind, &set, out_in_argv,
			print);
		if (ret == 0 && print) {
			struct buf out;
			buf_init(&out);
			cfg_print(dash_config_defs, dash_config_def_count, &set, &out);
			fwrite(buf_data(&out), 1, buf_len(&out), stdout);
			buf_clear(&out);
		}
	}
	curl_global_cleanup();
	cfg_free(dash_config_defs, dash_config_def_count, &set);
	return ret;
}
