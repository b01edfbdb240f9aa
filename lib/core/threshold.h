/* threshold.h: Nagios threshold ranges, as the Monitoring Plugins
 * development guidelines define them ("Threshold and ranges").
 *
 *   range = ["@"] [start ":"] [end]
 *   start = number | "~"            "~" is negative infinity; omitted: 0
 *   end   = number                  omitted after ":": positive infinity
 *
 * A range gives the values that are fine: the check alerts when the value is
 * outside [start, end] (both ends inclusive), or inside it with "@".
 *   "10"     alert if < 0 or > 10     "10:"    alert if < 10
 *   "~:10"   alert if > 10            "10:20"  alert if < 10 or > 20
 *   "@10:20" alert if >= 10 and <= 20
 * Pure functions, no allocation, never block. */
#ifndef CORE_THRESHOLD_H
#define CORE_THRESHOLD_H

#include <stdbool.h>
#include "postier.h"

/* Longest range text kept (perfdata repeats the text as given). */
#define THRESHOLD_TEXT_MAX 64

struct threshold_range {
	double start;        /* meaningless when start_infinite */
	double end;          /* meaningless when end_infinite */
	bool start_infinite; /* "~": no lower bound */
	bool end_infinite;   /* "N:": no upper bound */
	bool inside;         /* "@": alert inside the range */
	char text[THRESHOLD_TEXT_MAX]; /* the range as given */
};

/* The three levels a threshold check gives, numbered as the plugin exit
 * codes they become. */
enum threshold_level {
	THRESHOLD_LEVEL_OK = 0,
	THRESHOLD_LEVEL_WARNING = 1,
	THRESHOLD_LEVEL_CRITICAL = 2,
};

/* A -w/-c pair; either may be unset. */
struct threshold {
	struct threshold_range warn;
	struct threshold_range crit;
	bool has_warn;
	bool has_crit;
};

/* Parses s into *range_r. Numbers are decimal ("-1.5", "2e3"); "inf",
 * "nan", hexadecimal, white space, trailing bytes, an empty string, a start
 * above the end, "~" without ":" and text longer than THRESHOLD_TEXT_MAX - 1
 * are refused. ":10" is taken as "0:10", as monitoring-plugins do.
 * Returns 0, or -1 with a static reason in *error_r. */
int threshold_range_parse(const char *s, struct threshold_range *range_r,
	const char **error_r);

/* True when value raises an alert for this range. NaN always alerts. */
bool threshold_range_alerts(const struct threshold_range *range, double value);

/* Both ranges unset (fill them with threshold_range_parse() and set
 * has_warn / has_crit). */
void threshold_init(struct threshold *t);
/* CRITICAL if the critical range alerts, else WARNING if the warning range
 * alerts, else OK. */
enum threshold_level threshold_check(const struct threshold *t, double value);

#endif
