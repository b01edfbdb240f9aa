/* threshold.c: Nagios threshold ranges (Monitoring Plugins development
 * guidelines). Parsing is strict about numbers: a typo in -w must be a usage
 * error, never a silently different threshold. */
#include "postier.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/threshold.h"

/* number = ["+" / "-"] (1*DIGIT ["." *DIGIT] / "." 1*DIGIT)
 *          [("e" / "E") ["+" / "-"] 1*DIGIT]
 * Returns the number of bytes of s[0..len) that form a number (all of them
 * when valid), or 0. */
static size_t
number_span(const char *s, size_t len)
{
	size_t i = 0, digits = 0;

	if (i < len && (s[i] == '+' || s[i] == '-'))
		i++;
	while (i < len && s[i] >= '0' && s[i] <= '9') {
		i++;
		digits++;
	}
	if (i < len && s[i] == '.') {
		i++;
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			i++;
			digits++;
		}
	}
	if (digits == 0)
		return 0;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		size_t j = i + 1, exp_digits = 0;
		if (j < len && (s[j] == '+' || s[j] == '-'))
			j++;
		while (j < len && s[j] >= '0' && s[j] <= '9') {
			j++;
			exp_digits++;
		}
		if (exp_digits == 0)
			return 0;
		i = j;
	}
	return i;
}

/* Parses exactly s[0..len) as a finite number. Returns 0 or -1. */
static int
parse_number(const char *s, size_t len, double *value_r)
{
	char tmp[THRESHOLD_TEXT_MAX];

	if (len == 0 || len >= sizeof(tmp) || number_span(s, len) != len)
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	double v = strtod(tmp, NULL);
	if (!isfinite(v))
		return -1;
	*value_r = v;
	return 0;
}

int
threshold_range_parse(const char *s, struct threshold_range *range_r,
	const char **error_r)
{
	struct threshold_range r;

	memset(&r, 0, sizeof(r));
	size_t total = strlen(s);
	if (total == 0) {
		*error_r = "empty range";
		return -1;
	}
	if (total >= sizeof(r.text)) {
		*error_r = "range too long";
		return -1;
	}
	memcpy(r.text, s, total + 1);

	const char *p = s;
	if (*p == '@') {
		r.inside = true;
		p++;
	}
	const char *colon = strchr(p, ':');
	const char *end_str;
	if (colon != NULL) {
		size_t start_len = (size_t)(colon - p);
		if (start_len == 1 && p[0] == '~') {
			r.start_infinite = true;
		} else if (start_len == 0) {
			r.start = 0; /* ":10", as monitoring-plugins read it */
		} else if (parse_number(p, start_len, &r.start) < 0) {
			*error_r = "start is not a number";
			return -1;
		}
		end_str = colon + 1;
		if (strchr(end_str, ':') != NULL) {
			*error_r = "more than one ':'";
			return -1;
		}
	} else {
		if (*p == '~') {
			*error_r = "'~' needs ':' (\"~:end\")";
			return -1;
		}
		end_str = p;
		r.start = 0;
	}
	if (*end_str == '\0') {
		if (colon != NULL && colon == p) {
			*error_r = "neither start nor end";
			return -1;
		}
		if (colon == NULL) {
			*error_r = "no end after '@'";
			return -1;
		}
		r.end_infinite = true;
	} else if (parse_number(end_str, strlen(end_str), &r.end) < 0) {
		*error_r = "end is not a number";
		return -1;
	}
	if (!r.start_infinite && !r.end_infinite && r.start > r.end) {
		*error_r = "start is greater than end";
		return -1;
	}
	*range_r = r;
	return 0;
}

bool
threshold_range_alerts(const struct threshold_range *range, double value)
{
	if (isnan(value))
		return true;
	bool within = (range->start_infinite || value >= range->start) &&
		(range->end_infinite || value <= range->end);
	return range->inside ? within : !within;
}

void
threshold_init(struct threshold *t)
{
	memset(t, 0, sizeof(*t));
}

enum threshold_level
threshold_check(const struct threshold *t, double value)
{
	if (t->has_crit && threshold_range_alerts(&t->crit, value))
		return THRESHOLD_LEVEL_CRITICAL;
	if (t->has_warn && threshold_range_alerts(&t->warn, value))
		return THRESHOLD_LEVEL_WARNING;
	return THRESHOLD_LEVEL_OK;
}
