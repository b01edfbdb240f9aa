/* lgrun.h: one replay of a profile against a target on one event_base:
 * the open-loop scheduler, the SMTP senders (lgsend.c), the POP3/IMAP/IDLE
 * readers that verify what arrives (lgread.c), the per-interval time series
 * and the final counts. Shared by lgrun.c, lgsend.c and lgread.c; main.c
 * only calls lgrun_run(). */
#ifndef LOADGEN_LGRUN_H
#define LOADGEN_LGRUN_H

#include <stdio.h>
#include <stdint.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include "postier.h"
#include "core/buf.h"
#include "core/hist.h"
#include "client/client.h"
#include "profile.h"
#include "result.h"
#include "lgsched.h"
#include "target.h"

#define LGRUN_MAX_RCPT 5

struct lgrun_config {
	const struct profile *profile;
	const struct target *target;
	double speed, scale;
	double duration_s;	/* 0: the whole window */
	double drain_s;		/* wait for readers after the last send */
	uint64_t seed;
	unsigned int shard, shards;
	const char *run_id;
	double interval_s;	/* time-series interval */
	const char *csv_path;	/* NULL: none */
	const char *rrd_path;	/* NULL: none */
	bool progress;		/* live progress on stderr */
	/* capacity mode: > 0 replaces the curve by this flat rate for
	 * duration_s (messages per real second) */
	double flat_rate_per_s;
	bool no_readers;	/* send only (benchmarks against a sink) */
	bool print_assumptions;	/* repeat the profile's assumptions */
};

enum lgm_state {
	LGM_PENDING,
	LGM_SENDING,
	LGM_ACCEPTED,
	LGM_FAILED,
};

/* One scheduled message of this shard, indexed by seq / shards. */
struct lgm {
	int64_t sched_us;	/* scheduled start, monotonic µs */
	int64_t accepted_us;	/* 250 to the end of data, 0 before */
	uint32_t size;
	uint32_t from;
	uint32_t rcpt[LGRUN_MAX_RCPT];	/* mailbox indexes */
	uint8_t n_rcpt;
	uint8_t seen;		/* bit per recipient already verified */
	uint8_t state;
	bool attachment;
};

struct lgmailbox {
	const char *address;	/* borrowed from the target's users */
	const char *password;
};

struct lginterval {
	uint64_t offered, accepted, errors;
	struct hist *smtp, *e2e;
};

struct sender;
struct reader;

struct lgrun {
	struct lgrun_config cfg;
	struct event_base *base;
	struct result *res;
	int64_t start_us;
	double start_unix;
	double expected_s;	/* real length of the schedule */

	struct sched sched;
	bool have_next;
	double next_t;
	uint64_t next_seq;
	bool sched_done;
	/* Parked: no timer while every connection is busy and max_connections
	 * are open; the arrivals due meanwhile join the queue when a
	 * connection looks for work (lgrun_sched_pull), at their own
	 * scheduled times. A connection that goes idle or closes resumes the
	 * timer (lgrun_sched_resume). Saves a wake-up per message when the
	 * server is the bottleneck. */
	bool sched_parked;
	int sched_fd;		/* timerfd of the next arrival */
	bool sched_fd_set;	/* armed, or fired and not re-armed */
	struct event *sched_ev;
	struct event *tick_ev;

	struct lgm *msgs;
	size_t msgs_cap;

	struct lgmailbox *mb;
	uint32_t n_mb;
	uint32_t *shard_mb;	/* mailboxes of this shard */
	uint32_t n_shard_mb;

	SSL_CTX *ssl_ctx;
	struct client_opts smtp_opts, pop3_opts, imap_opts;
	bool have_pop3, have_imap;

	/* senders */
	struct sender *idle;	/* idle connections, most recent first */
	struct sender *all_senders;
	unsigned int n_senders;	/* open connections */
	unsigned int n_busy;	/* connections working on a message */
	uint32_t *queue;	/* waiting messages (local index) */
	size_t q_head, q_len, q_cap;

	/* readers */
	struct reader **readers;
	size_t n_readers;

	uint64_t outstanding;	/* accepted deliveries not yet seen */
	uint64_t reader_errors;
	struct lginterval iv;
	FILE *csv;
	bool draining, stopping;
	int64_t drain_deadline_us;
	int64_t last_progress_us;
	time_t last_row_t;	/* time of the last CSV/RRD row */
};

/* Runs one replay; fills res (counts, histograms; not the verdict).
 * Returns 0, or -1 with *error_r (heap) on a setup error (no usable SMTP
 * service, no users...). Blocks for the length of the run. */
int lgrun_run(const struct lgrun_config *cfg, struct result *res,
	char **error_r);

/* Message of this shard by local index. */
struct lgm *lgrun_msg(struct lgrun *run, uint64_t seq);
/* Called by senders and readers when something finished: decides whether
 * the run drains or stops. */
void lgrun_check_done(struct lgrun *run);
void lgrun_record(struct lgrun *run, enum lgop op, int64_t us);
/* Queues the arrivals that fell due while the scheduler was parked; called
 * before a connection takes work from the queue. */
void lgrun_sched_pull(struct lgrun *run);
/* Restarts a parked scheduler when a connection became idle or a slot
 * free. */
void lgrun_sched_resume(struct lgrun *run);

/* lgsend.c */
void sender_submit(struct lgrun *run, uint32_t local);
/* Appends to the queue of waiting messages. */
void sender_enqueue(struct lgrun *run, uint32_t local);
void sender_stop_all(struct lgrun *run);

/* lgread.c */
void reader_start_all(struct lgrun *run);
void reader_stop_all(struct lgrun *run);
/* Accounts a fetched message seen in mailbox mb. wake_us: when an IDLE
 * notification announced it (0 otherwise). */
void reader_account(struct lgrun *run, uint32_t mb, const char *data,
	size_t len, int64_t wake_us);

#endif
