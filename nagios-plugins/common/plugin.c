/* plugin.c: options, status line, perfdata, PATROL lines and the timeout
 * shared by the check_postier_* programs. */
#include "postier.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/xmalloc.h"
#include "patrol.h"
#include "plugin.h"

#define OPT_OUTPUT 1000
/* where the timeout text takes the phase (never in a service name) */
#define PHASE_MARK "{{phase}}"

static const char *const state_names[] = {
	"OK", "WARNING", "CRITICAL", "UNKNOWN",
};

/* The timeout result is rendered before the timer is armed, cut where the
 * phase goes; the signal handler only writes these three pieces. */
static char *timeout_head, *timeout_tail;
static int timeout_exit_code = PLUGIN_STATE_CRITICAL;
static const char *volatile timeout_phase = "start";
static struct timespec timer_started;
static unsigned timer_seconds;

const char *
plugin_state_name(enum plugin_state state)
{
	return (unsigned)state < N_ELEMENTS(state_names) ?
		state_names[state] : "UNKNOWN";
}

void
plugin_init(struct plugin *p, const char *prog, const char *service)
{
	memset(p, 0, sizeof(*p));
	p->prog = prog;
	p->service = service;
	p->usage = "";
	p->blurb = "";
	p->family = AF_UNSPEC;
	p->timeout_s = PLUGIN_DEFAULT_TIMEOUT_S;
	p->timeout_state = PLUGIN_STATE_CRITICAL;
	p->output = PLUGIN_OUTPUT_NAGIOS;
	threshold_init(&p->threshold);
	buf_init(&p->long_text);
}

void
plugin_clear(struct plugin *p)
{
	if (p->cleanup != NULL) {
		void (*fn)(void *) = p->cleanup;
		p->cleanup = NULL;
		fn(p->cleanup_context);
	}
	for (size_t i = 0; i < p->n_perf; i++)
		free(p->perf[i].label);
	p->n_perf = 0;
	buf_clear(&p->long_text);
	free(timeout_head);
	free(timeout_tail);
	timeout_head = timeout_tail = NULL;
}

int
plugin_parse_state(const char *s, enum plugin_state *state_r)
{
	for (size_t i = 0; i < N_ELEMENTS(state_names); i++) {
		if (strcasecmp(s, state_names[i]) == 0 ||
		    (s[0] == (char)('0' + i) && s[1] == '\0')) {
			*state_r = (enum plugin_state)i;
			return 0;
		}
	}
	return -1;
}

int
plugin_parse_timeout(const char *s, unsigned *seconds_r,
	enum plugin_state *state_r)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	unsigned long n = strtoul(s, &end, 10);
	if (errno != 0 || n == 0 || n > 86400)
		return -1;
	enum plugin_state state = PLUGIN_STATE_CRITICAL;
	if (*end == ':') {
		if (plugin_parse_state(end + 1, &state) < 0)
			return -1;
	} else if (*end != '\0') {
		return -1;
	}
	*seconds_r = (unsigned)n;
	*state_r = state;
	return 0;
}

static void
print_usage_line(const struct plugin *p, FILE *f)
{
	fprintf(f, "Usage: %s %s [-t SECONDS[:STATE]] [-v] "
		"[--output=nagios|patrol]\n", p->prog, p->usage);
}

void
plugin_usage_error(struct plugin *p, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	printf("%s UNKNOWN: ", p->service);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	print_usage_line(p, stdout);
	fflush(stdout);
	plugin_clear(p);
	exit(PLUGIN_STATE_UNKNOWN);
}

static void
print_help(const struct plugin *p, unsigned common,
	const struct plugin_option *opts, size_t n_opts)
{
	printf("%s %s (Postier)\n%s\n\n", p->prog, POSTIER_VERSION, p->blurb);
	print_usage_line(p, stdout);
	printf("\nOptions:\n"
		" -h, --help\n    Print this help and exit\n"
		" -V, --version\n    Print the version and exit\n");
	if (common & PLUGIN_COMMON_HOST) {
		printf(" -H, --hostname=ADDRESS\n    Host name or address\n"
			" -p, --port=INTEGER\n    Port number\n"
			" -4, --use-ipv4\n    Use IPv4 only\n"
			" -6, --use-ipv6\n    Use IPv6 only\n");
	}
	if (common & PLUGIN_COMMON_THRESHOLDS) {
		printf(" -w, --warning=RANGE\n    Warning range (Nagios "
			"threshold format: 10, 10:, ~:10, 10:20, @10:20)\n"
			" -c, --critical=RANGE\n    Critical range\n");
	}
	for (size_t i = 0; i < n_opts; i++) {
		if (opts[i].key < 256)
			printf(" -%c, --%s", opts[i].key, opts[i].name);
		else
			printf("     --%s", opts[i].name);
		if (opts[i].has_arg)
			printf("=%s", opts[i].arg_name);
		printf("\n    %s\n", opts[i].help);
	}
	printf(" -t, --timeout=SECONDS[:STATE]\n    Give up after SECONDS "
		"(default %d) with STATE (default CRITICAL)\n"
		" -v, --verbose\n    More detail (-v one line, -vv and -vvv "
		"lines after the status line)\n"
		"     --output=nagios|patrol\n    Status line with perfdata "
		"(default), or PATROL parameter lines\n"
		"\nExit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.\n"
		"See docs/plugins.md.\n", PLUGIN_DEFAULT_TIMEOUT_S);
}

void
plugin_parse_args(struct plugin *p, int argc, char **argv,
	unsigned common, const struct plugin_option *opts, size_t n_opts,
	plugin_option_fn *fn, void *context)
{
	struct option longopts[64];
	struct buf shortopts;
	size_t n = 0;
	const char *warn = NULL, *crit = NULL;

	PASSERT(n_opts + 16 < N_ELEMENTS(longopts));
	buf_init(&shortopts);
	buf_append_str(&shortopts, ":hVvt:");
	longopts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	longopts[n++] = (struct option){ "version", no_argument, NULL, 'V' };
	longopts[n++] = (struct option){ "verbose", no_argument, NULL, 'v' };
	longopts[n++] = (struct option){ "timeout", required_argument, NULL, 't' };
	longopts[n++] = (struct option){ "output", required_argument, NULL,
		OPT_OUTPUT };
	if (common & PLUGIN_COMMON_HOST) {
		buf_append_str(&shortopts, "H:p:46");
		longopts[n++] = (struct option){ "hostname", required_argument,
			NULL, 'H' };
		longopts[n++] = (struct option){ "port", required_argument,
			NULL, 'p' };
		longopts[n++] = (struct option){ "use-ipv4", no_argument,
			NULL, '4' };
		longopts[n++] = (struct option){ "use-ipv6", no_argument,
			NULL, '6' };
	}
	if (common & PLUGIN_COMMON_THRESHOLDS) {
		buf_append_str(&shortopts, "w:c:");
		longopts[n++] = (struct option){ "warning", required_argument,
			NULL, 'w' };
		longopts[n++] = (struct option){ "critical", required_argument,
			NULL, 'c' };
	}
	for (size_t i = 0; i < n_opts; i++) {
		longopts[n++] = (struct option){ opts[i].name,
			opts[i].has_arg ? required_argument : no_argument, NULL,
			opts[i].key };
		if (opts[i].key < 256) {
			buf_append_char(&shortopts, (char)opts[i].key);
			if (opts[i].has_arg)
				buf_append_char(&shortopts, ':');
		}
	}
	longopts[n] = (struct option){ NULL, 0, NULL, 0 };

	char *optstring = buf_steal(&shortopts);
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		const char *why;
		char *end;
		switch (c) {
		case 'h':
			print_help(p, common, opts, n_opts);
			free(optstring);
			plugin_clear(p);
			exit(PLUGIN_STATE_OK);
		case 'V':
			printf("%s %s (Postier)\n", p->prog, POSTIER_VERSION);
			free(optstring);
			plugin_clear(p);
			exit(PLUGIN_STATE_OK);
		case 'v':
			p->verbose++;
			break;
		case 't':
			if (plugin_parse_timeout(optarg, &p->timeout_s,
			    &p->timeout_state) < 0) {
				free(optstring);
				plugin_usage_error(p, "bad -t '%s' (SECONDS or "
					"SECONDS:STATE, e.g. 10:unknown)", optarg);
			}
			break;
		case OPT_OUTPUT:
			if (strcmp(optarg, "nagios") == 0) {
				p->output = PLUGIN_OUTPUT_NAGIOS;
			} else if (strcmp(optarg, "patrol") == 0) {
				p->output = PLUGIN_OUTPUT_PATROL;
			} else {
				free(optstring);
				plugin_usage_error(p, "bad --output '%s' "
					"(nagios or patrol)", optarg);
			}
			break;
		case 'H':
			if (*optarg == '\0') {
				free(optstring);
				plugin_usage_error(p, "empty -H");
			}
			p->host = optarg;
			break;
		case 'p':
			errno = 0;
			long port = strtol(optarg, &end, 10);
			if (errno != 0 || *optarg == '\0' || *end != '\0' ||
			    port < 1 || port > 65535) {
				free(optstring);
				plugin_usage_error(p, "bad -p '%s' (1-65535)",
					optarg);
			}
			p->port = (int)port;
			break;
		case '4':
			p->family = AF_INET;
			break;
		case '6':
			p->family = AF_INET6;
			break;
		case 'w':
			warn = optarg;
			if (threshold_range_parse(warn, &p->threshold.warn,
			    &why) < 0) {
				free(optstring);
				plugin_usage_error(p, "bad -w '%s': %s", warn,
					why);
			}
			p->threshold.has_warn = true;
			break;
		case 'c':
			crit = optarg;
			if (threshold_range_parse(crit, &p->threshold.crit,
			    &why) < 0) {
				free(optstring);
				plugin_usage_error(p, "bad -c '%s': %s", crit,
					why);
			}
			p->threshold.has_crit = true;
			break;
		case ':':
			free(optstring);
			plugin_usage_error(p, "option '%s' needs an argument",
				argv[optind - 1]);
		case '?':
			free(optstring);
			if (optopt != 0 && optopt < 256)
				plugin_usage_error(p, "unknown option '-%c'",
					optopt);
			plugin_usage_error(p, "unknown option '%s'",
				argv[optind - 1]);
		default:
			if (fn(p, c, optarg, context) < 0) {
				free(optstring);
				plugin_usage_error(p, "bad argument");
			}
			break;
		}
	}
	free(optstring);
	if (optind < argc)
		plugin_usage_error(p, "unexpected argument '%s'", argv[optind]);
}

/* ---- output ---------------------------------------------------------- */

void
plugin_format_number(struct buf *out, double value)
{
	if (!isfinite(value)) {
		buf_append_str(out, "U"); /* the guidelines' "undetermined" */
		return;
	}
	if (value == floor(value) && fabs(value) < 1e15) {
		buf_printf(out, "%.0f", value);
		return;
	}
	size_t at = buf_len(out);
	buf_printf(out, "%.6f", value);
	size_t len = buf_len(out);
	const char *d = buf_data(out);
	while (len > at && d[len - 1] == '0')
		len--;
	if (len > at && d[len - 1] == '.')
		len--;
	buf_truncate(out, len);
	if (strcmp(buf_data(out) + at, "-0") == 0)
		buf_truncate(out, at), buf_append_char(out, '0');
}

static void
append_text(struct buf *out, const char *text, bool nagios)
{
	for (const char *s = text; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch < 0x20 || ch == 0x7f)
			buf_append_char(out, ' ');
		else if (nagios && ch == '|')
			buf_append_char(out, '/');
		else
			buf_append_char(out, (char)ch);
	}
}

/* Perfdata label: single-quoted, a quote doubled (guidelines: "to specify
 * a quote character, use two single quotes"); '=' is not allowed. */
static void
append_perf(struct buf *out, const struct plugin_perf *pd)
{
	buf_append_char(out, '\'');
	for (const char *s = pd->label; *s != '\0'; s++) {
		if (*s == '\'')
			buf_append_str(out, "''");
		else if (*s == '=' || (unsigned char)*s < 0x20)
			buf_append_char(out, '_');
		else
			buf_append_char(out, *s);
	}
	buf_append_str(out, "'=");
	plugin_format_number(out, pd->value);
	buf_append_str(out, pd->uom);
	buf_append_char(out, ';');
	if (pd->threshold.has_warn)
		buf_append_str(out, pd->threshold.warn.text);
	buf_append_char(out, ';');
	if (pd->threshold.has_crit)
		buf_append_str(out, pd->threshold.crit.text);
	buf_append_char(out, ';');
	if (pd->has_min)
		plugin_format_number(out, pd->min);
	buf_append_char(out, ';');
	if (pd->has_max)
		plugin_format_number(out, pd->max);
	/* trailing unfilled fields may be dropped */
	size_t len = buf_len(out);
	while (buf_data(out)[len - 1] == ';')
		len--;
	buf_truncate(out, len);
}

/* PATROL parameter name: the label with anything outside [A-Za-z0-9_]
 * turned into '_'. */
static void
append_param_name(struct buf *out, const char *label)
{
	for (const char *s = label; *s != '\0'; s++) {
		char ch = *s;
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			(ch >= '0' && ch <= '9') || ch == '_';
		buf_append_char(out, ok ? ch : '_');
	}
}

static void
append_bound(struct buf *out, bool infinite, double v)
{
	if (infinite)
		buf_append_char(out, '-');
	else
		plugin_format_number(out, v);
}

static void
append_patrol_range(struct buf *out, const char *param, const char *kind,
	const struct patrol_range *r)
{
	if (!r->enabled)
		return;
	buf_printf(out, "RANGE %s %s ", param, kind);
	append_bound(out, r->min_infinite, r->min);
	buf_append_char(out, ' ');
	append_bound(out, r->max_infinite, r->max);
	buf_printf(out, " %s\n", patrol_level_name(r->level));
}

static void
render_patrol(const struct plugin *p, enum plugin_state state,
	const char *text, struct buf *out)
{
	buf_printf(out, "POSTIER-PATROL 1\nSERVICE %s\nSTATUS %d %s\nTEXT ",
		p->service, (int)state, plugin_state_name(state));
	append_text(out, text, false);
	buf_append_char(out, '\n');
	for (size_t i = 0; i < p->n_perf; i++) {
		const struct plugin_perf *pd = &p->perf[i];
		struct buf name;
		buf_init(&name);
		append_param_name(&name, pd->label);
		buf_printf(out, "PARAM %s ", buf_data(&name));
		plugin_format_number(out, pd->value);
		buf_printf(out, " %s %d\n", pd->uom[0] != '\0' ? pd->uom : "-",
			(int)pd->state);
		if (pd->threshold.has_warn || pd->threshold.has_crit) {
			struct patrol_ranges r;
			if (patrol_map(&pd->threshold, pd->has_min, pd->min,
			    pd->has_max, pd->max, &r) < 0) {
				buf_printf(out, "RANGE %s UNMAPPED\n",
					buf_data(&name));
			} else {
				append_patrol_range(out, buf_data(&name),
					"BORDER", &r.border);
				append_patrol_range(out, buf_data(&name),
					"ALARM1", &r.alarm1);
				append_patrol_range(out, buf_data(&name),
					"ALARM2", &r.alarm2);
			}
		}
		buf_clear(&name);
	}
	buf_append_str(out, "END\n");
}

void
plugin_render(const struct plugin *p, enum plugin_state state,
	const char *text, struct buf *out)
{
	if (p->output == PLUGIN_OUTPUT_PATROL) {
		render_patrol(p, state, text, out);
		return;
	}
	buf_printf(out, "%s %s: ", p->service, plugin_state_name(state));
	append_text(out, text, true);
	if (p->n_perf > 0) {
		buf_append_str(out, " |");
		for (size_t i = 0; i < p->n_perf; i++) {
			buf_append_char(out, ' ');
			append_perf(out, &p->perf[i]);
		}
	}
	buf_append_char(out, '\n');
	if (buf_len(&p->long_text) > 0) {
		/* long output must not carry a '|' either (it would start
		 * perfdata continuation lines) */
		for (const char *s = buf_data(&p->long_text); *s != '\0'; s++)
			buf_append_char(out, *s == '|' ? '/' : *s);
	}
}

void
plugin_exit(struct plugin *p, enum plugin_state state, const char *fmt, ...)
{
	va_list ap;
	struct buf text, out;

	alarm(0);
	buf_init(&text);
	va_start(ap, fmt);
	buf_vprintf(&text, fmt, ap);
	va_end(ap);
	buf_init(&out);
	plugin_render(p, state, buf_data(&text), &out);
	fwrite(buf_data(&out), 1, buf_len(&out), stdout);
	fflush(stdout);
	buf_clear(&out);
	buf_clear(&text);
	plugin_clear(p);
	exit((int)state);
}

void
plugin_exit_owned(struct plugin *p, enum plugin_state state, char *text)
{
	struct buf out;

	alarm(0);
	buf_init(&out);
	plugin_render(p, state, text, &out);
	free(text);
	fwrite(buf_data(&out), 1, buf_len(&out), stdout);
	fflush(stdout);
	buf_clear(&out);
	plugin_clear(p);
	exit((int)state);
}

enum plugin_state
plugin_state_worst(enum plugin_state a, enum plugin_state b)
{
	static const int rank[] = { 0, 2, 3, 1 }; /* OK, WARN, CRIT, UNKNOWN */
	return rank[a] >= rank[b] ? a : b;
}

enum plugin_state
plugin_perf_add(struct plugin *p, const char *label, double value,
	const char *uom, const struct threshold *threshold, double min,
	double max)
{
	PASSERT(p->n_perf < PLUGIN_MAX_PERF);
	struct plugin_perf *pd = &p->perf[p->n_perf++];
	memset(pd, 0, sizeof(*pd));
	pd->label = xstrdup(label);
	pd->value = value;
	snprintf(pd->uom, sizeof(pd->uom), "%s", uom != NULL ? uom : "");
	if (threshold != NULL)
		pd->threshold = *threshold;
	else
		threshold_init(&pd->threshold);
	pd->has_min = !isnan(min);
	pd->min = min;
	pd->has_max = !isnan(max);
	pd->max = max;
	pd->state = (enum plugin_state)threshold_check(&pd->threshold, value);
	return pd->state;
}

void
plugin_long(struct plugin *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&p->long_text, fmt, ap);
	va_end(ap);
	buf_append_char(&p->long_text, '\n');
}

void
plugin_debug(struct plugin *p, int level, const char *fmt, ...)
{
	va_list ap;

	if (p->verbose < level)
		return;
	va_start(ap, fmt);
	buf_vprintf(&p->long_text, fmt, ap);
	va_end(ap);
	buf_append_char(&p->long_text, '\n');
}

/* ---- timeout --------------------------------------------------------- */

static void
write_all(const char *s)
{
	size_t len = strlen(s);
	while (len > 0) {
		ssize_t n = write(STDOUT_FILENO, s, len);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return;
		}
		s += n;
		len -= (size_t)n;
	}
}

static void
on_alarm(int sig)
{
	(void)sig;
	if (timeout_head != NULL) {
		write_all(timeout_head);
		write_all((const char *)timeout_phase);
		write_all(timeout_tail);
	}
	_exit(timeout_exit_code);
}

void
plugin_phase(const char *phase)
{
	timeout_phase = phase;
}

void
plugin_start_timer(struct plugin *p)
{
	struct buf out;
	struct buf text;

	/* The perfdata gathered so far is not part of a timeout result. */
	size_t saved = p->n_perf;
	p->n_perf = 0;
	buf_init(&text);
	buf_printf(&text, "timeout after %u s (" PHASE_MARK ")", p->timeout_s);
	buf_init(&out);
	plugin_render(p, p->timeout_state, buf_data(&text), &out);
	p->n_perf = saved;
	const char *d = buf_data(&out);
	const char *cut = strstr(d, PHASE_MARK);
	PASSERT(cut != NULL);
	free(timeout_head);
	free(timeout_tail);
	timeout_head = xstrndup(d, (size_t)(cut - d));
	timeout_tail = xstrdup(cut + strlen(PHASE_MARK));
	buf_clear(&out);
	buf_clear(&text);
	fflush(stdout);

	timeout_exit_code = (int)p->timeout_state;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	clock_gettime(CLOCK_MONOTONIC, &timer_started);
	timer_seconds = p->timeout_s;
	alarm(p->timeout_s);
}

unsigned
plugin_remaining_ms(const struct plugin *p)
{
	struct timespec now;
	(void)p;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double used = (double)(now.tv_sec - timer_started.tv_sec) * 1000.0 +
		(double)(now.tv_nsec - timer_started.tv_nsec) / 1e6;
	double left = (double)timer_seconds * 1000.0 - used;
	return left < 1 ? 1 : (unsigned)left;
}
