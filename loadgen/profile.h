/* profile.h: a load profile (INI, see docs/loadgen.md): the population, the
 * day's volume and hourly curve, message sizes, recipients, reader mix, TLS
 * and AUTH use, and the service levels that make the verdict. Loading
 * validates everything; a bad profile is one clear error line. */
#ifndef LOADGEN_PROFILE_H
#define LOADGEN_PROFILE_H

#include <stdint.h>
#include "postier.h"
#include "core/cfg.h"

#define PROFILE_MAX_HOURS 24
#define PROFILE_MAX_TABLE 32
#define PROFILE_MAX_RCPT 8

enum profile_size_dist {
	PROFILE_SIZE_FIXED,
	PROFILE_SIZE_LOGNORMAL,
	PROFILE_SIZE_TABLE,
};

enum profile_service {
	PROFILE_SERVICE_SMTP,
	PROFILE_SERVICE_SUBMISSION,
	PROFILE_SERVICE_SUBMISSIONS,
};

enum profile_reader_tls {
	PROFILE_READER_TLS_NONE,	/* plain [pop3]/[imap] */
	PROFILE_READER_TLS_STARTTLS,	/* [pop3]/[imap] + STLS/STARTTLS */
	PROFILE_READER_TLS_IMPLICIT,	/* [pop3s]/[imaps] */
};

struct profile_weighted {
	double value;
	double weight;	/* normalised: weights sum to 1 */
};

struct profile {
	/* as read (cfg table) */
	char *name;
	struct cfg_list assumptions;
	long long mailboxes;
	char *domains;
	long long messages_per_day;
	char *window_hours_s;
	char *curve_s;
	int size_dist;
	uint64_t size_mean_bytes;
	char *size_sigma_s;
	char *size_table_s;
	char *recipients_s;
	char *attachment_share_s;
	char *pop3_share_s, *imap_share_s, *idle_share_s;
	long long pop3_interval_ms, imap_interval_ms;
	int service;
	bool auth;
	int reader_tls;		/* enum profile_reader_tls */
	long long messages_per_connection;
	long long max_connections;
	long long slo_smtp_ms;
	char *slo_smtp_percent_s;
	long long slo_delivery_ms;
	char *slo_delivery_percent_s;
	long long slo_max_lost;
	char *slo_max_failed_percent_s;

	/* derived by profile_load() */
	double window_hours;
	unsigned int hours;			/* ceil(window_hours) */
	double curve[PROFILE_MAX_HOURS];	/* share of the day per hour */
	double size_sigma;
	struct profile_weighted size_table[PROFILE_MAX_TABLE];
	unsigned int size_table_n;
	struct profile_weighted rcpt[PROFILE_MAX_RCPT];
	unsigned int rcpt_n;
	double attachment_share;
	double pop3_share, imap_share, idle_share;
	double slo_smtp_percent, slo_delivery_percent, slo_max_failed_percent;
};

/* Loads and validates path. name_or_path: a path, or a shipped profile name
 * ("dgcp", "hosting") looked up in profiles_dir. Returns 0, or -1 with
 * *error_r (heap) set to one line. Blocks on file I/O. */
int profile_load(struct profile *p, const char *name_or_path,
	const char *profiles_dir, char **error_r);
void profile_free(struct profile *p);

/* Messages per hour of the window at scale 1 (hour 0 .. hours-1). */
double profile_hour_rate(const struct profile *p, unsigned int hour);
/* The busiest hour's messages per hour at scale 1. */
double profile_peak_rate(const struct profile *p);
/* Mean message size implied by the size distribution, bytes. */
double profile_mean_size(const struct profile *p);

/* Parses a decimal number in [min, max]. Returns 0 or -1. */
int profile_parse_double(const char *s, double min, double max,
	double *value_r);

#endif
