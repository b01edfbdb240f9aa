/* patrol.h: Nagios thresholds as BMC PATROL alarm ranges.
 *
 * A Nagios range names the values that are fine (the check alerts outside
 * it, or inside with "@"); a PATROL parameter names the values that alarm:
 * ALARM1 (the lower range) and ALARM2 (the higher one), each with a state
 * (WARN or ALARM), plus a BORDER range outside of which a value alarms.
 * patrol_map() cuts the real line at the ends of the -w and -c ranges,
 * evaluates each piece with the Nagios rules, and hands the non-OK pieces to
 * ALARM1/ALARM2 (lowest first), or to BORDER when the two outermost pieces
 * share a state and more than two pieces alarm. docs/plugins.md shows the
 * mapping with examples; tests/vectors/patrol/ pins it. Pure functions. */
#ifndef PATROL_H
#define PATROL_H

#include <stdbool.h>
#include "postier.h"
#include "core/threshold.h"

struct patrol_range {
	bool enabled;
	bool min_infinite, max_infinite;
	double min, max;
	/* THRESHOLD_LEVEL_WARNING (PATROL "WARN") or _CRITICAL ("ALARM") */
	enum threshold_level level;
};

struct patrol_ranges {
	struct patrol_range border; /* values OUTSIDE [min, max] alarm */
	struct patrol_range alarm1; /* values inside alarm; the lower range */
	struct patrol_range alarm2; /* values inside alarm; the higher range */
};

/* Maps t (either range may be unset) to PATROL ranges, within the
 * measurement's own bounds when known (has_min/min, has_max/max: a time is
 * never below 0). Returns 0, or -1 when three PATROL ranges cannot say it
 * (the parameter's state must then come from the plugin). */
int patrol_map(const struct threshold *t, bool has_min, double min,
	bool has_max, double max, struct patrol_ranges *ranges_r);

/* "WARN" or "ALARM". */
const char *patrol_level_name(enum threshold_level level);

#endif
