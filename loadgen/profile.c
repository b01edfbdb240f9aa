/* profile.c: load profiles (see profile.h). The cfg table is the one list
 * of keys; the derived fields are computed and checked after loading. */
#include "postier.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/xmalloc.h"
#include "profile.h"

static const char *const size_dists[] = { "fixed", "lognormal", "table", NULL };
static const char *const reader_tls[] = {
	"none", "starttls", "implicit", NULL
};
static const char *const services[] = {
	"smtp", "submission", "submissions", NULL
};

#define F(field) CFG_FIELD(struct profile, field)
static const struct cfg_def profile_defs[] = {
	{ "profile", "name", CFG_TYPE_STR, "unnamed", 0, 0, false, F(name),
	  "name shown in reports", NULL },
	{ "profile", "assumption", CFG_TYPE_LIST, "", 0, 0, false,
	  F(assumptions), "a figure that is assumed, repeated in every report",
	  NULL },
	{ "population", "mailboxes", CFG_TYPE_INT, "1000", 1, 100000000, false,
	  F(mailboxes), "mailboxes at scale 1", NULL },
	{ "population", "domains", CFG_TYPE_STR, "target", 0, 0, false,
	  F(domains), "\"target\" (the target users' domains) or a list",
	  NULL },
	{ "day", "messages_per_day", CFG_TYPE_INT, "10000", 1, 1000000000,
	  false, F(messages_per_day), "messages of the day at scale 1", NULL },
	{ "day", "window_hours", CFG_TYPE_STR, "10", 0, 0, false,
	  F(window_hours_s), "hours over which the day's messages arrive",
	  NULL },
	{ "day", "curve", CFG_TYPE_STR, "", 0, 0, false, F(curve_s),
	  "relative weight of each hour of the window (empty: flat)", NULL },
	{ "messages", "size", CFG_TYPE_ENUM, "lognormal", 0, 0, false,
	  F(size_dist), "fixed, lognormal or table", size_dists },
	{ "messages", "size_mean", CFG_TYPE_SIZE, "140k", 64, 64LL << 20,
	  false, F(size_mean_bytes), "mean size (fixed, lognormal)", NULL },
	{ "messages", "size_sigma", CFG_TYPE_STR, "1.0", 0, 0, false,
	  F(size_sigma_s), "lognormal sigma", NULL },
	{ "messages", "size_table", CFG_TYPE_STR, "", 0, 0, false,
	  F(size_table_s), "bytes:weight,... (size = table)", NULL },
	{ "messages", "recipients", CFG_TYPE_STR, "1:1", 0, 0, false,
	  F(recipients_s), "count:weight,... recipients per message", NULL },
	{ "messages", "attachment_share", CFG_TYPE_STR, "0.3", 0, 0, false,
	  F(attachment_share_s), "share of messages with a MIME attachment",
	  NULL },
	{ "readers", "pop3_share", CFG_TYPE_STR, "0.5", 0, 0, false,
	  F(pop3_share_s), "share of mailboxes read by POP3 polling", NULL },
	{ "readers", "imap_share", CFG_TYPE_STR, "0.3", 0, 0, false,
	  F(imap_share_s), "share read by periodic IMAP checks", NULL },
	{ "readers", "idle_share", CFG_TYPE_STR, "0.2", 0, 0, false,
	  F(idle_share_s), "share connected all the time with IMAP IDLE", NULL },
	{ "readers", "pop3_interval", CFG_TYPE_DURATION, "10m", 1000,
	  86400000, false, F(pop3_interval_ms),
	  "POP3 check interval (day time, compressed by --speed)", NULL },
	{ "readers", "imap_interval", CFG_TYPE_DURATION, "5m", 1000, 86400000,
	  false, F(imap_interval_ms), "IMAP check interval (day time)", NULL },
	{ "readers", "tls", CFG_TYPE_ENUM, "starttls", 0, 0, false,
	  F(reader_tls), "none, starttls ([pop3]/[imap] upgraded) or "
	  "implicit ([pop3s]/[imaps])", reader_tls },
	{ "smtp", "service", CFG_TYPE_ENUM, "smtp", 0, 0, false, F(service),
	  "target section used to send: smtp, submission, submissions",
	  services },
	{ "smtp", "auth", CFG_TYPE_BOOL, "no", 0, 0, false, F(auth),
	  "authenticate as the sender", NULL },
	{ "smtp", "messages_per_connection", CFG_TYPE_INT, "5", 1, 100000,
	  false, F(messages_per_connection),
	  "messages sent over one SMTP connection before QUIT", NULL },
	{ "smtp", "max_connections", CFG_TYPE_INT, "500", 1, 100000, false,
	  F(max_connections), "concurrent SMTP connections at most", NULL },
	{ "slo", "smtp_transaction", CFG_TYPE_DURATION, "5s", 1, 3600000,
	  false, F(slo_smtp_ms), "SMTP transaction time limit", NULL },
	{ "slo", "smtp_percent", CFG_TYPE_STR, "95", 0, 0, false,
	  F(slo_smtp_percent_s), "percent of transactions under the limit",
	  NULL },
	{ "slo", "delivery", CFG_TYPE_DURATION, "60s", 1, 86400000, false,
	  F(slo_delivery_ms), "250 -> visible to the reader limit", NULL },
	{ "slo", "delivery_percent", CFG_TYPE_STR, "95", 0, 0, false,
	  F(slo_delivery_percent_s), "percent of messages visible in time",
	  NULL },
	{ "slo", "max_lost", CFG_TYPE_INT, "0", 0, 1000000000, false,
	  F(slo_max_lost), "lost or corrupted messages allowed", NULL },
	{ "slo", "max_failed_percent", CFG_TYPE_STR, "1", 0, 0, false,
	  F(slo_max_failed_percent_s), "percent of refused sends allowed",
	  NULL },
};
#undef F

int
profile_parse_double(const char *s, double min, double max, double *value_r)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	while (*end == ' ')
		end++;
	if (s[0] == '\0' || *end != '\0' || errno != 0 || isnan(v) ||
	    v < min || v > max)
		return -1;
	*value_r = v;
	return 0;
}

/* "a:w,b:w" or "w,w,w" (values only when keyless). */
static int
profile_parse_table(const char *s, bool keyed, struct profile_weighted *out,
	unsigned int max, unsigned int *n_r)
{
	char *copy = xstrdup(s), *save = NULL;
	unsigned int n = 0;
	double total = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		if (n == max)
			goto fail;
		char *colon = strchr(tok, ':');
		if (keyed) {
			if (colon == NULL)
				goto fail;
			*colon = '\0';
			if (profile_parse_double(tok, 0, 1e12, &out[n].value) < 0 ||
			    profile_parse_double(colon + 1, 0, 1e12,
				    &out[n].weight) < 0)
				goto fail;
		} else {
			out[n].value = n;
			if (colon != NULL ||
			    profile_parse_double(tok, 0, 1e12, &out[n].weight) < 0)
				goto fail;
		}
		total += out[n].weight;
		n++;
	}
	free(copy);
	if (n == 0 || total <= 0)
		return -1;
	for (unsigned int i = 0; i < n; i++)
		out[i].weight /= total;
	*n_r = n;
	return 0;
fail:
	free(copy);
	return -1;
}

static int
profile_derive(struct profile *p, char **error_r)
{
	if (profile_parse_double(p->window_hours_s, 0.01, 24,
		    &p->window_hours) < 0) {
		*error_r = xasprintf("[day] window_hours must be a number in "
			"0.01..24, not \"%s\"", p->window_hours_s);
		return -1;
	}
	p->hours = (unsigned int)ceil(p->window_hours - 1e-9);
	if (p->curve_s == NULL || p->curve_s[0] == '\0') {
		for (unsigned int h = 0; h < p->hours; h++)
			p->curve[h] = 1.0 / p->hours;
	} else {
		struct profile_weighted w[PROFILE_MAX_HOURS];
		unsigned int n;
		if (profile_parse_table(p->curve_s, false, w, PROFILE_MAX_HOURS,
			    &n) < 0 || n != p->hours) {
			*error_r = xasprintf("[day] curve must list %u "
				"non-negative weights (one per hour of the "
				"window), not \"%s\"", p->hours, p->curve_s);
			return -1;
		}
		for (unsigned int h = 0; h < n; h++)
			p->curve[h] = w[h].weight;
	}
	if (profile_parse_double(p->size_sigma_s, 0, 4, &p->size_sigma) < 0) {
		*error_r = xasprintf("[messages] size_sigma must be in 0..4");
		return -1;
	}
	if (p->size_dist == PROFILE_SIZE_TABLE &&
	    (p->size_table_s == NULL ||
	     profile_parse_table(p->size_table_s, true, p->size_table,
		     PROFILE_MAX_TABLE, &p->size_table_n) < 0)) {
		*error_r = xasprintf("[messages] size_table must be "
			"bytes:weight,... when size = table");
		return -1;
	}
	for (unsigned int i = 0; i < p->size_table_n; i++) {
		if (p->size_table[i].value < 64 ||
		    p->size_table[i].value > 64.0 * 1024 * 1024) {
			*error_r = xasprintf("[messages] size_table sizes must "
				"be 64 bytes .. 64 MiB");
			return -1;
		}
	}
	if (profile_parse_table(p->recipients_s, true, p->rcpt,
		    PROFILE_MAX_RCPT, &p->rcpt_n) < 0) {
		*error_r = xasprintf("[messages] recipients must be "
			"count:weight,... not \"%s\"", p->recipients_s);
		return -1;
	}
	for (unsigned int i = 0; i < p->rcpt_n; i++) {
		double v = p->rcpt[i].value;
		if (v < 1 || v > 5 || v != floor(v)) {
			*error_r = xasprintf("[messages] recipients counts must "
				"be integers 1..5");
			return -1;
		}
	}
	struct {
		const char *name, *s;
		double *v, max;
	} nums[] = {
		{ "[messages] attachment_share", p->attachment_share_s,
		  &p->attachment_share, 1 },
		{ "[readers] pop3_share", p->pop3_share_s, &p->pop3_share, 1 },
		{ "[readers] imap_share", p->imap_share_s, &p->imap_share, 1 },
		{ "[readers] idle_share", p->idle_share_s, &p->idle_share, 1 },
		{ "[slo] smtp_percent", p->slo_smtp_percent_s,
		  &p->slo_smtp_percent, 100 },
		{ "[slo] delivery_percent", p->slo_delivery_percent_s,
		  &p->slo_delivery_percent, 100 },
		{ "[slo] max_failed_percent", p->slo_max_failed_percent_s,
		  &p->slo_max_failed_percent, 100 },
	};
	for (size_t i = 0; i < N_ELEMENTS(nums); i++) {
		if (nums[i].s == NULL ||
		    profile_parse_double(nums[i].s, 0, nums[i].max,
			    nums[i].v) < 0) {
			*error_r = xasprintf("%s must be a number in 0..%g, "
				"not \"%s\"", nums[i].name, nums[i].max,
				nums[i].s != NULL ? nums[i].s : "");
			return -1;
		}
	}
	double readers = p->pop3_share + p->imap_share + p->idle_share;
	if (fabs(readers - 1.0) > 0.001) {
		*error_r = xasprintf("[readers] pop3_share + imap_share + "
			"idle_share must be 1, not %g", readers);
		return -1;
	}
	return 0;
}

int
profile_load(struct profile *p, const char *name_or_path,
	const char *profiles_dir, char **error_r)
{
	char *path = NULL;
	memset(p, 0, sizeof(*p));
	if (strchr(name_or_path, '/') == NULL &&
	    strstr(name_or_path, ".ini") == NULL && profiles_dir != NULL)
		path = xasprintf("%s/%s.ini", profiles_dir, name_or_path);
	else
		path = xstrdup(name_or_path);
	if (access(path, R_OK) != 0) {
		*error_r = xasprintf("profile %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	char *err = NULL;
	int ret = cfg_load_file(profile_defs, N_ELEMENTS(profile_defs), p, path,
		&err);
	if (ret == 0 && profile_derive(p, &err) < 0) {
		char *e = xasprintf("profile %s: %s", path, err);
		free(err);
		err = e;
		ret = -1;
	}
	if (ret < 0) {
		*error_r = err;
		profile_free(p);
	}
	free(path);
	return ret;
}

void
profile_free(struct profile *p)
{
	cfg_free(profile_defs, N_ELEMENTS(profile_defs), p);
}

double
profile_hour_rate(const struct profile *p, unsigned int hour)
{
	if (hour >= p->hours)
		return 0;
	/* The last hour may be partial: its share arrives in less time. */
	double len = hour + 1 > p->window_hours ? p->window_hours - hour : 1.0;
	return (double)p->messages_per_day * p->curve[hour] / len;
}

double
profile_peak_rate(const struct profile *p)
{
	double peak = 0;
	for (unsigned int h = 0; h < p->hours; h++) {
		double r = profile_hour_rate(p, h);
		if (r > peak)
			peak = r;
	}
	return peak;
}

double
profile_mean_size(const struct profile *p)
{
	if (p->size_dist != PROFILE_SIZE_TABLE)
		return (double)p->size_mean_bytes;
	double m = 0;
	for (unsigned int i = 0; i < p->size_table_n; i++)
		m += p->size_table[i].value * p->size_table[i].weight;
	return m;
}
