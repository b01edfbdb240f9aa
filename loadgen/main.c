/* main.c: postier-loadgen command line: run, prepare, merge. Exit status:
 * 0 service levels met, 1 not met, 2 usage or setup error. */
#include "postier.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "lgrun.h"
#include "prepare.h"
#include "profile.h"
#include "result.h"
#include "target.h"

#ifndef POSTIER_LOADGEN_PROFILES_DIR
#define POSTIER_LOADGEN_PROFILES_DIR "/usr/share/postier/loadgen"
#endif

#define EXIT_PASS 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

static const char usage_text[] =
"usage: postier-loadgen run --profile NAME|FILE --target FILE [options]\n"
"       postier-loadgen prepare --profile NAME|FILE --target FILE [--scale F]\n"
"       postier-loadgen merge [--json OUT] RESULT.json...\n"
"\n"
"run options:\n"
"  --speed N          compress time N times (default 1)\n"
"  --scale F          shrink population and volume (default 1)\n"
"  --duration S       stop scheduling after S real seconds (default: the day)\n"
"  --seed N           random seed (default 1): same seed, same schedule\n"
"  --shard I/N        this generator's share, 1 <= I <= N (default 1/1)\n"
"  --drain S          wait up to S s after the last send for deliveries\n"
"                     (default: the delivery SLO + 10 s)\n"
"  --json FILE        write the result document\n"
"  --csv FILE         time series (default: JSON path with .csv)\n"
"  --rrd FILE         time series as RRD (default: JSON path with .rrd)\n"
"  --interval S       time-series interval in seconds (default 1)\n"
"  --run-id ID        run id carried by every message (default: generated)\n"
"  --find-capacity    ramp a flat load in steps until a service level breaks\n"
"  --step-duration S  seconds per capacity step (default 30)\n"
"  --max-multiple X   highest multiple of the peak tried (default 64)\n"
"  --no-readers       send only (no verification), e.g. against a sink\n"
"  --profiles-dir DIR where profile names are looked up\n"
"  -q, --quiet        no progress line\n"
"  -h, --help         this text;  -V, --version\n"
"\n"
"Exit status: 0 service levels met, 1 not met, 2 usage or setup error.\n";

struct opts {
	const char *profile, *target, *json, *csv, *rrd, *run_id, *dir;
	double speed, scale, duration, drain, interval, step_s, max_multiple;
	uint64_t seed;
	unsigned int shard, shards;
	bool capacity, quiet, no_readers, drain_set;
};

static int
usage_error(const char *fmt, ...) ATTR_PRINTF(1, 2);

static int
usage_error(const char *fmt, ...)
{
	va_list ap;
	fputs("postier-loadgen: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (try --help)\n", stderr);
	return EXIT_USAGE;
}

static int
parse_num(const char *opt, const char *s, double min, double max, double *v)
{
	if (profile_parse_double(s, min, max, v) < 0)
		return usage_error("%s wants a number in %g..%g, not \"%s\"",
			opt, min, max, s);
	return 0;
}

static int
parse_opts(int argc, char **argv, struct opts *o)
{
	enum { O_SPEED = 256, O_SCALE, O_DURATION, O_SEED, O_SHARD, O_DRAIN,
		O_JSON, O_CSV, O_RRD, O_INTERVAL, O_RUNID, O_CAP, O_STEP,
		O_MAXM, O_NOREAD, O_DIR, O_PROFILE, O_TARGET };
	static const struct option longopts[] = {
		{ "profile", required_argument, NULL, O_PROFILE },
		{ "target", required_argument, NULL, O_TARGET },
		{ "speed", required_argument, NULL, O_SPEED },
		{ "scale", required_argument, NULL, O_SCALE },
		{ "duration", required_argument, NULL, O_DURATION },
		{ "seed", required_argument, NULL, O_SEED },
		{ "shard", required_argument, NULL, O_SHARD },
		{ "drain", required_argument, NULL, O_DRAIN },
		{ "json", required_argument, NULL, O_JSON },
		{ "csv", required_argument, NULL, O_CSV },
		{ "rrd", required_argument, NULL, O_RRD },
		{ "interval", required_argument, NULL, O_INTERVAL },
		{ "run-id", required_argument, NULL, O_RUNID },
		{ "find-capacity", no_argument, NULL, O_CAP },
		{ "step-duration", required_argument, NULL, O_STEP },
		{ "max-multiple", required_argument, NULL, O_MAXM },
		{ "no-readers", no_argument, NULL, O_NOREAD },
		{ "profiles-dir", required_argument, NULL, O_DIR },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	double v;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "qhV", longopts, NULL)) != -1) {
		switch (c) {
		case O_PROFILE: o->profile = optarg; break;
		case O_TARGET: o->target = optarg; break;
		case O_SPEED:
			if (parse_num("--speed", optarg, 0.001, 1e6, &o->speed))
				return -1;
			break;
		case O_SCALE:
			if (parse_num("--scale", optarg, 1e-9, 1000, &o->scale))
				return -1;
			break;
		case O_DURATION:
			if (parse_num("--duration", optarg, 0.001, 1e7,
				      &o->duration))
				return -1;
			break;
		case O_SEED:
			if (parse_num("--seed", optarg, 0, 1e15, &v))
				return -1;
			o->seed = (uint64_t)v;
			break;
		case O_SHARD: {
			unsigned int i, n;
			char extra;
			if (sscanf(optarg, "%u/%u%c", &i, &n, &extra) != 2 ||
			    n < 1 || n > 10000 || i < 1 || i > n) {
				usage_error("--shard wants I/N with 1 <= I <= N, "
					"not \"%s\"", optarg);
				return -1;
			}
			o->shard = i - 1;
			o->shards = n;
			break;
		}
		case O_DRAIN:
			if (parse_num("--drain", optarg, 0, 86400, &o->drain))
				return -1;
			o->drain_set = true;
			break;
		case O_JSON: o->json = optarg; break;
		case O_CSV: o->csv = optarg; break;
		case O_RRD: o->rrd = optarg; break;
		case O_INTERVAL:
			if (parse_num("--interval", optarg, 1, 3600,
				      &o->interval))
				return -1;
			break;
		case O_RUNID: o->run_id = optarg; break;
		case O_CAP: o->capacity = true; break;
		case O_STEP:
			if (parse_num("--step-duration", optarg, 1, 86400,
				      &o->step_s))
				return -1;
			break;
		case O_MAXM:
			if (parse_num("--max-multiple", optarg, 0.1, 10000,
				      &o->max_multiple))
				return -1;
			break;
		case O_NOREAD: o->no_readers = true; break;
		case O_DIR: o->dir = optarg; break;
		case 'q': o->quiet = true; break;
		case 'h':
			fputs(usage_text, stdout);
			exit(EXIT_PASS);
		case 'V':
			printf("postier-loadgen %s\n", POSTIER_VERSION);
			exit(EXIT_PASS);
		default:
			if (optopt != 0 && optopt < 256)
				usage_error("bad option -%c", optopt);
			else
				usage_error("bad option %s", argv[optind - 1]);
			return -1;
		}
	}
	if (o->run_id != NULL) {
		size_t n = strlen(o->run_id);
		if (n == 0 || n > 40 ||
		    strspn(o->run_id, "abcdefghijklmnopqrstuvwxyz"
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != n) {
			usage_error("--run-id wants 1-40 letters, digits or '-'");
			return -1;
		}
	}
	return 0;
}

static char *
replace_ext(const char *path, const char *ext)
{
	const char *dot = strrchr(path, '.');
	const char *slash = strrchr(path, '/');
	size_t n = dot != NULL && (slash == NULL || dot > slash) ?
		(size_t)(dot - path) : strlen(path);
	return xasprintf("%.*s%s", (int)n, path, ext);
}

static int
write_file(const char *path, const struct buf *b)
{
	FILE *f = fopen(path, "w");
	if (f == NULL || fwrite(buf_data(b), 1, buf_len(b), f) != buf_len(b) ||
	    fclose(f) != 0) {
		fprintf(stderr, "postier-loadgen: %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	return 0;
}

static void
result_from_profile(struct result *r, const struct profile *p,
	const struct target *t, const struct opts *o, const char *run_id)
{
	r->run_id = xstrdup(run_id);
	r->profile_name = xstrdup(p->name);
	r->n_assumptions = p->assumptions.count;
	r->assumptions = xcalloc(p->assumptions.count + 1, sizeof(char *));
	for (size_t i = 0; i < p->assumptions.count; i++)
		r->assumptions[i] = xstrdup(p->assumptions.items[i]);
	r->mailboxes = (uint64_t)p->mailboxes;
	r->messages_per_day = (uint64_t)p->messages_per_day;
	r->window_hours = p->window_hours;
	r->mean_size_bytes = (uint64_t)profile_mean_size(p);
	r->target = xstrdup(t->name);
	r->speed = o->speed;
	r->scale = o->scale;
	r->shard = o->shard;
	r->shards = o->shards;
	r->slo_smtp_ms = (double)p->slo_smtp_ms;
	r->slo_smtp_percent = p->slo_smtp_percent;
	r->slo_delivery_ms = (double)p->slo_delivery_ms;
	r->slo_delivery_percent = p->slo_delivery_percent;
	r->slo_max_lost = (double)p->slo_max_lost;
	r->slo_max_failed_percent = p->slo_max_failed_percent;
}

/* Steps of the capacity search, as multiples of the busiest hour. */
static const double capacity_steps[] = {
	0.25, 0.5, 1, 1.5, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128,
	256, 512, 1024,
};

static int
run_capacity(struct lgrun_config *cfg, const struct opts *o,
	const struct profile *p, struct result *total)
{
	double peak_per_s = profile_peak_rate(p) * o->scale * o->speed / 3600.0;
	double last_ok = 0;
	char run_id[64];
	for (size_t k = 0; k < N_ELEMENTS(capacity_steps); k++) {
		double m = capacity_steps[k];
		if (m > o->max_multiple)
			break;
		struct result step;
		result_init(&step);
		step.slo_smtp_ms = total->slo_smtp_ms;
		step.slo_smtp_percent = total->slo_smtp_percent;
		step.slo_delivery_ms = total->slo_delivery_ms;
		step.slo_delivery_percent = total->slo_delivery_percent;
		step.slo_max_lost = total->slo_max_lost;
		step.slo_max_failed_percent = total->slo_max_failed_percent;
		step.speed = o->speed;
		step.scale = o->scale;
		snprintf(run_id, sizeof(run_id), "%.30s-c%zu", total->run_id, k);
		struct lgrun_config c = *cfg;
		c.run_id = run_id;
		c.flat_rate_per_s = peak_per_s * m;
		c.duration_s = o->step_s;
		c.seed = cfg->seed + k;
		c.csv_path = NULL;
		c.rrd_path = NULL;
		c.print_assumptions = k == 0 && !o->quiet;
		if (!o->quiet)
			fprintf(stderr, "capacity step %gx peak: %.2f msg/s for "
				"%.0f s\n", m, c.flat_rate_per_s, o->step_s);
		char *err = NULL;
		if (lgrun_run(&c, &step, &err) < 0) {
			fprintf(stderr, "postier-loadgen: %s\n", err);
			free(err);
			result_clear(&step);
			return -1;
		}
		result_judge(&step);
		double secs = step.duration_s > 0 ? step.duration_s : 1;
		buf_printf(&total->capacity_steps, "%s{\"multiple\":%g,"
			"\"offered_per_s\":%.3f,\"achieved_per_s\":%.3f,"
			"\"smtp_p%g_ms\":%.3f,\"e2e_p%g_ms\":%.3f,\"lost\":%llu,"
			"\"failed\":%llu,\"pass\":%s}", k > 0 ? "," : "", m,
			c.flat_rate_per_s, (double)step.counts.accepted / secs,
			step.slo_smtp_percent, hist_percentile(step.lat[LGOP_SMTP],
				step.slo_smtp_percent) / 1000.0,
			step.slo_delivery_percent,
			hist_percentile(step.lat[LGOP_E2E],
				step.slo_delivery_percent) / 1000.0,
			(unsigned long long)step.counts.lost,
			(unsigned long long)step.counts.failed,
			step.pass ? "true" : "false");
		if (!o->quiet)
			fprintf(stderr, "  -> %s\n", step.verdict);
		/* the totals add up every step */
		struct lgcounts *t = &total->counts, *s = &step.counts;
		t->scheduled += s->scheduled;
		t->sent += s->sent;
		t->accepted += s->accepted;
		t->failed += s->failed;
		t->verified += s->verified;
		t->lost += s->lost;
		t->duplicated += s->duplicated;
		t->corrupted += s->corrupted;
		t->deliveries += s->deliveries;
		for (int i = 0; i < LGOP_COUNT; i++)
			hist_merge(total->lat[i], step.lat[i]);
		hist_merge(total->sched_lag, step.sched_lag);
		total->duration_s += step.duration_s;
		total->verification = step.verification;
		if (total->started_unix == 0)
			total->started_unix = step.started_unix;
		bool pass = step.pass;
		result_clear(&step);
		if (!pass)
			break;
		last_ok = m;
	}
	total->has_capacity = true;
	total->capacity_multiple = last_ok;
	return 0;
}

static int
cmd_run(int argc, char **argv, bool prepare_only)
{
	struct opts o = { .speed = 1, .scale = 1, .interval = 1, .seed = 1,
		.shards = 1, .step_s = 30, .max_multiple = 64 };
	if (parse_opts(argc, argv, &o) < 0)
		return EXIT_USAGE;
	if (optind != argc)
		return usage_error("unexpected argument \"%s\"", argv[optind]);
	if (o.profile == NULL || o.target == NULL)
		return usage_error("--profile and --target are required");
	struct profile p;
	struct target t;
	char *err = NULL;
	const char *dir = o.dir != NULL ? o.dir :
		getenv("POSTIER_LOADGEN_PROFILES") != NULL ?
		getenv("POSTIER_LOADGEN_PROFILES") : POSTIER_LOADGEN_PROFILES_DIR;
	if (profile_load(&p, o.profile, dir, &err) < 0) {
		fprintf(stderr, "postier-loadgen: %s\n", err);
		free(err);
		return EXIT_USAGE;
	}
	if (target_load(&t, o.target, &err) < 0 ||
	    target_load_users(&t, &err) < 0) {
		fprintf(stderr, "postier-loadgen: %s\n", err);
		free(err);
		target_free(&t);
		profile_free(&p);
		return EXIT_USAGE;
	}
	int ret = EXIT_USAGE;
	if (prepare_only) {
		unsigned int added;
		if (prepare_population(&p, &t, o.scale, &added, &err) < 0) {
			fprintf(stderr, "postier-loadgen: prepare: %s\n", err);
			free(err);
		} else {
			printf("prepare: %u users added, %zu in %s\n", added,
				t.n_users, t.users_file);
			ret = EXIT_PASS;
		}
		target_free(&t);
		profile_free(&p);
		return ret;
	}
	char run_id[48];
	if (o.run_id != NULL)
		snprintf(run_id, sizeof(run_id), "%s", o.run_id);
	else
		snprintf(run_id, sizeof(run_id), "r%llx-%x",
			(unsigned long long)time(NULL), (unsigned int)getpid());
	struct result res;
	result_init(&res);
	result_from_profile(&res, &p, &t, &o, run_id);
	char *csv = o.csv != NULL ? xstrdup(o.csv) :
		o.json != NULL ? replace_ext(o.json, ".csv") : NULL;
	char *rrd = o.rrd != NULL ? xstrdup(o.rrd) :
		o.json != NULL ? replace_ext(o.json, ".rrd") : NULL;
	struct lgrun_config cfg = {
		.profile = &p, .target = &t, .speed = o.speed, .scale = o.scale,
		.duration_s = o.duration,
		.drain_s = o.drain_set ? o.drain : p.slo_delivery_ms / 1000.0 + 10,
		.seed = o.seed, .shard = o.shard, .shards = o.shards,
		.run_id = run_id, .interval_s = o.interval,
		.csv_path = o.capacity ? NULL : csv,
		.rrd_path = o.capacity ? NULL : rrd,
		.progress = !o.quiet, .no_readers = o.no_readers,
		.print_assumptions = !o.quiet,
	};
	int rc;
	if (o.capacity) {
		rc = run_capacity(&cfg, &o, &p, &res);
	} else {
		rc = lgrun_run(&cfg, &res, &err);
		if (rc < 0) {
			fprintf(stderr, "postier-loadgen: %s\n", err);
			free(err);
		}
	}
	if (rc == 0) {
		if (!o.capacity) {
			res.timeseries_csv = csv != NULL ? xstrdup(csv) : NULL;
			res.rrd = rrd != NULL ? xstrdup(rrd) : NULL;
		}
		result_judge(&res);
		if (o.capacity) {
			res.pass = res.capacity_multiple >= 1;
			snprintf(res.verdict, sizeof(res.verdict), "%s: sustains "
				"%gx the profile's busiest hour (%s)",
				res.pass ? "PASS" : "FAIL", res.capacity_multiple,
				res.pass ? "at least its peak" : "below its peak");
		}
		struct buf out;
		buf_init(&out);
		result_table(&res, &out);
		fputs(buf_data(&out), stdout);
		buf_reset(&out);
		ret = res.pass ? EXIT_PASS : EXIT_FAIL;
		if (o.json != NULL) {
			result_to_json(&res, &out);
			if (write_file(o.json, &out) < 0)
				ret = EXIT_USAGE;
		}
		buf_clear(&out);
	}
	free(csv);
	free(rrd);
	result_clear(&res);
	target_free(&t);
	profile_free(&p);
	return ret;
}

static int
cmd_merge(int argc, char **argv)
{
	const char *json = NULL;
	int i = 1;
	for (; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0 && i + 1 < argc)
			json = argv[++i];
		else if (strncmp(argv[i], "--json=", 7) == 0)
			json = argv[i] + 7;
		else if (argv[i][0] == '-')
			return usage_error("merge: unknown option %s", argv[i]);
		else
			break;
	}
	if (i >= argc)
		return usage_error("merge needs at least one result file");
	struct result res;
	result_init(&res);
	int ret = EXIT_USAGE;
	for (; i < argc; i++) {
		FILE *f = fopen(argv[i], "r");
		struct buf b;
		buf_init(&b);
		char chunk[65536];
		size_t n;
		if (f == NULL) {
			fprintf(stderr, "postier-loadgen: %s: %s\n", argv[i],
				strerror(errno));
			buf_clear(&b);
			goto out;
		}
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			buf_append(&b, chunk, n);
		fclose(f);
		char *err = NULL;
		if (result_merge_json(&res, buf_data(&b), buf_len(&b), &err) < 0) {
			fprintf(stderr, "postier-loadgen: %s: %s\n", argv[i], err);
			free(err);
			buf_clear(&b);
			goto out;
		}
		buf_clear(&b);
	}
	result_judge(&res);
	struct buf out;
	buf_init(&out);
	result_table(&res, &out);
	fputs(buf_data(&out), stdout);
	ret = res.pass ? EXIT_PASS : EXIT_FAIL;
	if (json != NULL) {
		buf_reset(&out);
		result_to_json(&res, &out);
		if (write_file(json, &out) < 0)
			ret = EXIT_USAGE;
	}
	buf_clear(&out);
out:
	result_clear(&res);
	return ret;
}

int
main(int argc, char **argv)
{
	log_init("postier-loadgen", LOG_TARGET_STDERR, NULL, LOG_LEVEL_WARN);
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2)
		return usage_error("missing subcommand (run, prepare, merge)");
	const char *cmd = argv[1];
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
		fputs(usage_text, stdout);
		return EXIT_PASS;
	}
	if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
		printf("postier-loadgen %s\n", POSTIER_VERSION);
		return EXIT_PASS;
	}
	if (strcmp(cmd, "run") == 0)
		return cmd_run(argc - 1, argv + 1, false);
	if (strcmp(cmd, "prepare") == 0)
		return cmd_run(argc - 1, argv + 1, true);
	if (strcmp(cmd, "merge") == 0)
		return cmd_merge(argc - 1, argv + 1);
	return usage_error("unknown subcommand \"%s\"", cmd);
}
