/* plugin.h: what every check_postier_* shares, following the Monitoring
 * Plugins development guidelines: common options (-H -p -4 -6 -t -w -c -v
 * -h -V --output), one status line `SERVICE STATUS: text | perfdata`,
 * perfdata `'label'=value[UOM];warn;crit;min;max`, exit codes 0/1/2/3, a
 * timeout that ends the plugin with CRITICAL (or the -t N:STATE state), and
 * the same result as PATROL lines with --output=patrol (docs/plugins.md).
 *
 * A plugin is a short-lived process: plugin_exit() prints, frees and exits.
 * Nothing here blocks except the caller's own I/O. */
#ifndef PLUGIN_H
#define PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include "postier.h"
#include "core/buf.h"
#include "core/threshold.h"

enum plugin_state {
	PLUGIN_STATE_OK = 0,
	PLUGIN_STATE_WARNING = 1,
	PLUGIN_STATE_CRITICAL = 2,
	PLUGIN_STATE_UNKNOWN = 3,
};

enum plugin_output {
	PLUGIN_OUTPUT_NAGIOS,
	PLUGIN_OUTPUT_PATROL,
};

/* Which common options a plugin takes (bits for plugin_parse_args()). */
enum plugin_common {
	PLUGIN_COMMON_HOST = 1 << 0,       /* -H -p -4 -6 */
	PLUGIN_COMMON_THRESHOLDS = 1 << 1, /* -w -c */
};

/* Default -t, seconds (monitoring-plugins' DEFAULT_SOCKET_TIMEOUT). */
#define PLUGIN_DEFAULT_TIMEOUT_S 10
#define PLUGIN_MAX_PERF 32

/* One measurement: a perfdata item and a PATROL parameter. */
struct plugin_perf {
	char *label;
	double value;
	char uom[8];          /* "", "s", "ms", "%", "B", "c", ... */
	struct threshold threshold; /* -w/-c for this measurement (may be unset) */
	bool has_min, has_max;
	double min, max;
	enum plugin_state state;
};

struct plugin {
	const char *prog;     /* "check_postier_smtp" (borrowed, static) */
	const char *service;  /* "SMTP": first word of the status line */
	const char *usage;    /* arguments part of the usage line */
	const char *blurb;    /* one paragraph for --help */

	/* common options, filled by plugin_parse_args() */
	const char *host;     /* -H; NULL when not given (borrowed from argv) */
	int port;             /* -p; 0 when not given */
	int family;           /* AF_UNSPEC, or AF_INET (-4) / AF_INET6 (-6) */
	unsigned timeout_s;   /* -t N */
	enum plugin_state timeout_state; /* -t N:STATE, CRITICAL by default */
	int verbose;          /* number of -v */
	enum plugin_output output;
	struct threshold threshold; /* -w / -c */

	/* the result */
	struct buf long_text; /* lines after the status line (-vv and up) */
	struct plugin_perf perf[PLUGIN_MAX_PERF];
	size_t n_perf;

	/* Called by plugin_clear() (so by plugin_exit() and usage errors) to
	 * release the plugin's own state; may be NULL. */
	void (*cleanup)(void *context);
	void *cleanup_context;
};

/* One plugin-specific option. key is the short option letter, or a value
 * >= 256 for a long-only option. */
struct plugin_option {
	const char *name;     /* long name, without "--" */
	int key;
	bool has_arg;
	const char *arg_name; /* for --help: "PATH" */
	const char *help;
};

/* Called for each plugin-specific option. Returns 0, or -1 after writing a
 * reason with plugin_usage_error() (which does not return). */
typedef int plugin_option_fn(struct plugin *p, int key, const char *arg,
	void *context);

/* Sets the defaults: timeout, CRITICAL on timeout, nagios output. */
void plugin_init(struct plugin *p, const char *prog, const char *service);

/* Parses argv (getopt_long) with the common options selected by `common`
 * and the plugin's own table. -h/--help and -V/--version print and exit 0;
 * a bad argument prints an UNKNOWN status line and a usage line and exits
 * 3. Positional arguments are refused. */
void plugin_parse_args(struct plugin *p, int argc, char **argv,
	unsigned common, const struct plugin_option *opts, size_t n_opts,
	plugin_option_fn *fn, void *context);

/* Prints `SERVICE UNKNOWN: reason` and the usage line, exits 3. */
void plugin_usage_error(struct plugin *p, const char *fmt, ...)
	ATTR_PRINTF(2, 3) ATTR_NORETURN;

/* Parses "N" or "N:STATE" (STATE: ok, warning, critical, unknown in any
 * case, or 0-3) as monitoring-plugins do. Returns 0 or -1. */
int plugin_parse_timeout(const char *s, unsigned *seconds_r,
	enum plugin_state *state_r);
/* Parses "ok", "WARNING", "2", ... Returns 0 or -1. */
int plugin_parse_state(const char *s, enum plugin_state *state_r);
const char *plugin_state_name(enum plugin_state state);

/* Arms the -t timer: SIGALRM prints the timeout result (state from -t, text
 * naming the phase last given to plugin_phase()) and exits at once. */
void plugin_start_timer(struct plugin *p);
/* phase must be a static string ("connect", "banner", "EHLO"...). */
void plugin_phase(const char *phase);
/* Milliseconds left before the -t timer fires (at least 1). */
unsigned plugin_remaining_ms(const struct plugin *p);

/* Adds a measurement and returns its state from `threshold` (which may be
 * NULL: no thresholds, state OK). min/max: pass NAN for "not given". The
 * label is copied. At most PLUGIN_MAX_PERF items (more is a bug). */
enum plugin_state plugin_perf_add(struct plugin *p, const char *label,
	double value, const char *uom, const struct threshold *threshold,
	double min, double max);

/* A line of long output, shown after the status line (and in PATROL's
 * TEXT only as the status text). */
void plugin_long(struct plugin *p, const char *fmt, ...) ATTR_PRINTF(2, 3);
/* Like plugin_long() when -v was given at least `level` times. */
void plugin_debug(struct plugin *p, int level, const char *fmt, ...)
	ATTR_PRINTF(3, 4);

/* Writes the whole result in p->output format into out. text is the status
 * text (a '|' becomes '/', control bytes become spaces). */
void plugin_render(const struct plugin *p, enum plugin_state state,
	const char *text, struct buf *out);

/* Renders to stdout, frees p, exits with state. */
void plugin_exit(struct plugin *p, enum plugin_state state,
	const char *fmt, ...) ATTR_PRINTF(3, 4) ATTR_NORETURN;

/* Same with a heap text the call takes ownership of. */
void plugin_exit_owned(struct plugin *p, enum plugin_state state, char *text)
	ATTR_NORETURN;

/* Frees what p holds (plugin_exit() does it). */
void plugin_clear(struct plugin *p);

/* Worse of two states: CRITICAL > WARNING > UNKNOWN > OK, as the guidelines
 * rank them when several checks are combined. */
enum plugin_state plugin_state_worst(enum plugin_state a, enum plugin_state b);

/* Formats a perfdata number: decimal, no exponent, at most 6 decimals,
 * trailing zeros removed ("0.0123", "12", "-3.5"). */
void plugin_format_number(struct buf *out, double value);

#endif
