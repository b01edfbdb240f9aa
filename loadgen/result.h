/* result.h: the outcome of a run (or of several merged shards): counts,
 * latency histograms per operation, service levels and verdict, and the
 * JSON document "postier-loadgen-result/1" (schema in docs/loadgen.md) it is
 * written to and read back from for `merge`. */
#ifndef LOADGEN_RESULT_H
#define LOADGEN_RESULT_H

#include <stdint.h>
#include "postier.h"
#include "core/buf.h"
#include "core/hist.h"

enum lgop {
	LGOP_CONNECT,
	LGOP_TLS,
	LGOP_AUTH,
	LGOP_SMTP,		/* scheduled start -> 250 after DATA */
	LGOP_E2E,		/* 250 -> seen by a reader */
	LGOP_LOGIN,		/* reader check start -> logged in */
	LGOP_FETCH,		/* RETR / UID FETCH of one message */
	LGOP_IDLE_WAKE,		/* 250 -> IDLE notification */
	LGOP_COUNT,
};

struct lgcounts {
	uint64_t scheduled, sent, accepted, failed;
	uint64_t verified, lost, duplicated, corrupted;
	uint64_t deliveries;	/* expected: accepted x recipients */
};

#define RESULT_MAX_SLO 4

struct result_slo {
	char name[32];
	char target[64];
	char actual[64];
	bool met;
};

struct result {
	char *run_id;
	char *profile_name;
	char **assumptions;
	size_t n_assumptions;
	uint64_t mailboxes;
	uint64_t messages_per_day;
	double window_hours;
	uint64_t mean_size_bytes;
	char *target;
	double started_unix, duration_s, speed, scale;
	unsigned int shard, shards;	/* shards 0: merged "all" */
	unsigned int merged;		/* number of results merged in */
	struct lgcounts counts;
	struct hist *lat[LGOP_COUNT];
	struct hist *sched_lag;		/* actual - scheduled start, µs */
	bool verification;		/* readers were able to run */
	/* service-level parameters (from the profile) */
	double slo_smtp_ms, slo_smtp_percent;
	double slo_delivery_ms, slo_delivery_percent;
	double slo_max_lost, slo_max_failed_percent;
	struct result_slo slo[RESULT_MAX_SLO];
	unsigned int n_slo;
	bool pass;
	char verdict[512];
	char *timeseries_csv;
	char *rrd;
	/* capacity mode */
	bool has_capacity;
	double capacity_multiple;
	struct buf capacity_steps;	/* JSON array body */
};

const char *lgop_name(enum lgop op);

void result_init(struct result *r);
void result_clear(struct result *r);
/* Evaluates the service levels and sets slo[], pass and verdict. */
void result_judge(struct result *r);
/* Appends the JSON document. */
void result_to_json(const struct result *r, struct buf *out);
/* Reads a JSON document written by result_to_json() and merges it into r
 * (counts add, histograms merge, duration is the longest, shard becomes
 * merged). Returns 0, or -1 with *error_r (heap). */
int result_merge_json(struct result *r, const char *json, size_t len,
	char **error_r);
/* Appends the human-readable final table. */
void result_table(const struct result *r, struct buf *out);

#endif
