/* lgrun.c: one replay (see lgrun.h): population, scheduler, interval
 * ticks (CSV, RRD, progress), draining and the final counts. */
#include "postier.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/tls.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "lgrrd.h"
#include "lgrun.h"
#include "rng.h"

static double
lgrun_wall(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

void
lgrun_record(struct lgrun *run, enum lgop op, int64_t us)
{
	hist_record(run->res->lat[op], us);
}

struct lgm *
lgrun_msg(struct lgrun *run, uint64_t seq)
{
	if (seq % run->cfg.shards != run->cfg.shard)
		return NULL;
	uint64_t local = seq / run->cfg.shards;
	if (local >= run->msgs_cap)
		return NULL;
	struct lgm *m = &run->msgs[local];
	return m->sched_us != 0 ? m : NULL;
}

/* Size of a message by the profile's distribution. */
static uint32_t
lgrun_size(const struct profile *p, struct rng *r)
{
	double v = (double)p->size_mean_bytes;
	if (p->size_dist == PROFILE_SIZE_LOGNORMAL) {
		/* mean of lognormal = exp(mu + s^2/2) */
		double s = p->size_sigma;
		double mu = log((double)p->size_mean_bytes) - s * s / 2;
		v = exp(mu + s * rng_normal(r));
	} else if (p->size_dist == PROFILE_SIZE_TABLE) {
		double u = rng_unit(r), acc = 0;
		v = p->size_table[p->size_table_n - 1].value;
		for (unsigned int i = 0; i < p->size_table_n; i++) {
			acc += p->size_table[i].weight;
			if (u <= acc) {
				v = p->size_table[i].value;
				break;
			}
		}
	}
	if (v < 512)
		v = 512;
	if (v > 64.0 * 1024 * 1024)
		v = 64.0 * 1024 * 1024;
	return (uint32_t)v;
}

/* Fills the message's size, sender and recipients from its own stream, so
 * a message is the same whatever the sharding. */
static void
lgrun_fill(struct lgrun *run, struct lgm *m, uint64_t seq)
{
	const struct profile *p = run->cfg.profile;
	struct rng r;
	rng_seed(&r, run->cfg.seed ^ (seq * 0x9e3779b97f4a7c15ULL + 1));
	m->size = lgrun_size(p, &r);
	m->attachment = rng_unit(&r) < p->attachment_share;
	double u = rng_unit(&r), acc = 0;
	unsigned int n = (unsigned int)p->rcpt[p->rcpt_n - 1].value;
	for (unsigned int i = 0; i < p->rcpt_n; i++) {
		acc += p->rcpt[i].weight;
		if (u <= acc) {
			n = (unsigned int)p->rcpt[i].value;
			break;
		}
	}
	if (n > run->n_shard_mb)
		n = run->n_shard_mb;
	if (n > LGRUN_MAX_RCPT)
		n = LGRUN_MAX_RCPT;
	m->n_rcpt = 0;
	while (m->n_rcpt < n) {
		uint32_t mb = run->shard_mb[rng_below(&r, run->n_shard_mb)];
		bool dup = false;
		for (unsigned int k = 0; k < m->n_rcpt; k++)
			dup = dup || m->rcpt[k] == mb;
		if (!dup)
			m->rcpt[m->n_rcpt++] = mb;
	}
	m->from = (uint32_t)rng_below(&r, run->n_mb);
}

static void
lgrun_advance(struct lgrun *run)
{
	run->have_next = sched_next(&run->sched, &run->next_t,
		&run->next_seq) == 1;
	if (run->have_next && run->cfg.duration_s > 0 &&
	    run->next_t > run->cfg.duration_s)
		run->have_next = false;
}

/* Whether an arrival could start at once: an idle connection, or a free
 * connection slot. */
static bool
lgrun_can_send(const struct lgrun *run)
{
	return run->idle != NULL || run->n_senders <
		(unsigned int)run->cfg.profile->max_connections;
}

/* ready_us: when a connection could have taken the arrival (its scheduled
 * time, or later for an arrival due while every connection was busy). */
static void
lgrun_dispatch(struct lgrun *run, uint64_t seq, int64_t sched_us,
	int64_t ready_us, bool queue_only)
{
	uint64_t local = seq / run->cfg.shards;
	if (local >= run->msgs_cap) {
		size_t cap = run->msgs_cap * 2 + 1024;
		while (cap <= local)
			cap *= 2;
		run->msgs = xrealloc(run->msgs, cap * sizeof(*run->msgs));
		memset(run->msgs + run->msgs_cap, 0,
			(cap - run->msgs_cap) * sizeof(*run->msgs));
		run->msgs_cap = cap;
	}
	struct lgm *m = &run->msgs[local];
	m->sched_us = sched_us;
	m->state = LGM_PENDING;
	lgrun_fill(run, m, seq);
	run->res->counts.scheduled++;
	run->iv.offered++;
	/* The generator's own error: how late the arrival leaves the
	 * scheduler. Waiting for a connection after that is the platform's
	 * and counts in smtp_transaction. */
	hist_record(run->res->sched_lag, client_now_us() - ready_us);
	if (queue_only)
		sender_enqueue(run, (uint32_t)local);
	else
		sender_submit(run, (uint32_t)local);
}

/* Sets the schedule's timerfd to fire at due_us (CLOCK_MONOTONIC, like
 * client_now_us), or disarms it (0): the one precise timer of the run. The
 * event base keeps libevent's millisecond timeouts for the rest (reply
 * timeouts, idle connections, ticks), so a loop turn costs no timer system
 * call unless an arrival is due. Re-arming or disarming also clears an
 * expiry not read. */
static void
lgrun_sched_timer(struct lgrun *run, int64_t due_us)
{
	if (due_us == 0 && !run->sched_fd_set)
		return;
	struct itimerspec its = { .it_value = {
		(time_t)(due_us / 1000000), (long)(due_us % 1000000) * 1000 } };
	if (timerfd_settime(run->sched_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		log_warn("loadgen.timer", "error=%s", log_quote(strerror(errno)));
	run->sched_fd_set = due_us != 0;
}

/* Arms the timer for the next arrival, or parks the scheduler when no
 * connection could take it (see lgrun_sched_pull), or ends the schedule. */
static void
lgrun_sched_next(struct lgrun *run)
{
	if (run->have_next && !run->stopping) {
		if (!lgrun_can_send(run)) {
			run->sched_parked = true;
			lgrun_sched_timer(run, 0);
			return;
		}
		int64_t due = run->start_us + (int64_t)(run->next_t * 1e6);
		lgrun_sched_timer(run, due);
		return;
	}
	lgrun_sched_timer(run, 0);
	if (!run->sched_done) {
		run->sched_done = true;
		lgrun_check_done(run);
	}
}

static void
lgrun_sched_cb(evutil_socket_t fd ATTR_UNUSED, short what ATTR_UNUSED,
	void *context)
{
	struct lgrun *run = context;
	int64_t now = client_now_us();
	run->sched_parked = false;
	/* Everything due (or due within 100 µs) goes now, at its own
	 * scheduled time: latency counts from there. */
	while (run->have_next && !run->stopping) {
		int64_t due = run->start_us + (int64_t)(run->next_t * 1e6);
		if (due > now + 100)
			break;
		lgrun_dispatch(run, run->next_seq, due, due, false);
		lgrun_advance(run);
	}
	lgrun_sched_next(run);
}

void
lgrun_sched_pull(struct lgrun *run)
{
	if (!run->sched_parked || run->stopping)
		return;
	int64_t now = client_now_us();
	while (run->have_next) {
		int64_t due = run->start_us + (int64_t)(run->next_t * 1e6);
		if (due > now)
			break;
		lgrun_dispatch(run, run->next_seq, due, now, true);
		lgrun_advance(run);
	}
	if (!run->have_next) {
		run->sched_parked = false;
		lgrun_sched_next(run);
	}
}

void
lgrun_sched_resume(struct lgrun *run)
{
	if (run->sched_parked && !run->stopping && lgrun_can_send(run)) {
		run->sched_parked = false;
		event_active(run->sched_ev, EV_READ, 0);
	}
}

static void
lgrun_stop(struct lgrun *run)
{
	if (run->stopping)
		return;
	run->stopping = true;
	event_base_loopexit(run->base, NULL);
}

void
lgrun_check_done(struct lgrun *run)
{
	if (run->stopping || !run->sched_done)
		return;
	if (run->n_busy > 0 || run->q_len > 0)
		return;
	int64_t now = client_now_us();
	if (!run->draining) {
		run->draining = true;
		run->drain_deadline_us = now + (int64_t)(run->cfg.drain_s * 1e6);
	}
	if (run->outstanding == 0 || run->n_readers == 0 ||
	    now >= run->drain_deadline_us)
		lgrun_stop(run);
}

static void
lgrun_progress(struct lgrun *run, double elapsed, double offered,
	double achieved, double smtp_p99, double e2e_p99)
{
	bool tty = isatty(STDERR_FILENO) == 1;
	int64_t now = client_now_us();
	if (!tty && now - run->last_progress_us < 10000000)
		return;
	run->last_progress_us = now;
	double eta = run->expected_s - elapsed;
	const struct lgcounts *c = &run->res->counts;
	fprintf(stderr, "%s[%6.0fs] %s%.1f/s offered %.1f/s sent %llu "
		"accepted %llu errors %llu | smtp p99 %.0f ms | e2e p99 %.0f ms "
		"| waiting %llu | ETA %.0fs%s", tty ? "\r" : "", elapsed,
		run->draining ? "draining " : "", offered, achieved,
		(unsigned long long)c->sent, (unsigned long long)c->accepted,
		(unsigned long long)(c->failed + run->reader_errors), smtp_p99,
		e2e_p99, (unsigned long long)run->outstanding,
		eta > 0 ? eta : 0, tty ? "   " : "\n");
}

static void
lgrun_tick_cb(evutil_socket_t fd ATTR_UNUSED, short what ATTR_UNUSED,
	void *context)
{
	struct lgrun *run = context;
	lgrun_sched_pull(run);
	double iv = run->cfg.interval_s;
	double elapsed = (client_now_us() - run->start_us) / 1e6;
	struct lginterval *i = &run->iv;
	double offered = i->offered / iv, achieved = i->accepted / iv;
	double smtp50 = hist_count(i->smtp) > 0 ?
		hist_percentile(i->smtp, 50) / 1000.0 : NAN;
	double smtp99 = hist_count(i->smtp) > 0 ?
		hist_percentile(i->smtp, 99) / 1000.0 : NAN;
	double e2e99 = hist_count(i->e2e) > 0 ?
		hist_percentile(i->e2e, 99) / 1000.0 : NAN;
	/* one row per second at most: a late tick never repeats a time */
	time_t t = (time_t)(run->start_unix + elapsed + 0.5);
	if (t <= run->last_row_t)
		t = run->last_row_t + 1;
	run->last_row_t = t;
	if (run->csv != NULL) {
		fprintf(run->csv, "%lld,%.3f,%.3f,%llu,", (long long)t, offered,
			achieved, (unsigned long long)i->errors);
		double v[3] = { smtp50, smtp99, e2e99 };
		for (int k = 0; k < 3; k++) {
			if (!isnan(v[k]))
				fprintf(run->csv, "%.3f", v[k]);
			fputc(k < 2 ? ',' : '\n', run->csv);
		}
		fflush(run->csv);
	}
	if (run->cfg.rrd_path != NULL) {
		double v[LGRRD_COLUMNS] = { offered, achieved, (double)i->errors,
			smtp50, smtp99, e2e99 };
		char *err = NULL;
		if (lgrrd_update(run->cfg.rrd_path, t, v, &err) < 0) {
			log_warn("loadgen.rrd", "error=%s", log_quote(err));
			free(err);
		}
	}
	if (run->cfg.progress)
		lgrun_progress(run, elapsed, offered, achieved,
			isnan(smtp99) ? 0 : smtp99, isnan(e2e99) ? 0 : e2e99);
	i->offered = i->accepted = i->errors = 0;
	hist_reset(i->smtp);
	hist_reset(i->e2e);
	lgrun_check_done(run);
}

/* The population: the target's users, the first `mailboxes x scale`,
 * preferring the ones `prepare` made ("lg" prefix). */
static int
lgrun_population(struct lgrun *run, char **error_r)
{
	const struct target *t = run->cfg.target;
	const struct profile *p = run->cfg.profile;
	double want = floor((double)p->mailboxes * run->cfg.scale + 0.5);
	if (want < 1)
		want = 1;
	if (t->n_users == 0) {
		*error_r = xasprintf("target %s: no users (users_file %s); run "
			"`postier-loadgen prepare` first", t->path,
			t->users_file != NULL ? t->users_file : "not set");
		return -1;
	}
	run->mb = xcalloc((size_t)want, sizeof(*run->mb));
	for (int pass = 0; pass < 2 && run->n_mb < want; pass++) {
		for (size_t i = 0; i < t->n_users && run->n_mb < want; i++) {
			bool lg = strncmp(t->users[i].address, "lg", 2) == 0 &&
				strchr(t->users[i].address, '-') != NULL;
			if (lg != (pass == 0))
				continue;
			run->mb[run->n_mb].address = t->users[i].address;
			run->mb[run->n_mb].password = t->users[i].password;
			run->n_mb++;
		}
	}
	if (run->n_mb < want)
		log_warn("loadgen.population", "wanted=%.0f users=%u "
			"hint=\"run prepare to create more\"", want, run->n_mb);
	run->shard_mb = xmalloc(run->n_mb * sizeof(*run->shard_mb));
	for (uint32_t i = 0; i < run->n_mb; i++) {
		if (i % run->cfg.shards == run->cfg.shard)
			run->shard_mb[run->n_shard_mb++] = i;
	}
	if (run->n_shard_mb == 0) {
		*error_r = xasprintf("shard %u/%u has no mailboxes (%u users)",
			run->cfg.shard + 1, run->cfg.shards, run->n_mb);
		return -1;
	}
	return 0;
}

static int
lgrun_services(struct lgrun *run, char **error_r)
{
	const struct target *t = run->cfg.target;
	const struct profile *p = run->cfg.profile;
	static const enum target_service send[] = {
		TARGET_SMTP, TARGET_SUBMISSION, TARGET_SUBMISSIONS,
	};
	enum target_service s = send[p->service];
	if (!target_client_opts(t, s, &run->smtp_opts)) {
		*error_r = xasprintf("target %s has no [%s] section, which "
			"profile %s sends through", t->path,
			target_service_name(s), p->name);
		return -1;
	}
	run->smtp_opts.server_name = NULL;
	bool implicit = p->reader_tls == PROFILE_READER_TLS_IMPLICIT;
	enum target_service pop3 = implicit && t->ep[TARGET_POP3S].present ?
		TARGET_POP3S : TARGET_POP3;
	enum target_service imap = implicit && t->ep[TARGET_IMAPS].present ?
		TARGET_IMAPS : TARGET_IMAP;
	run->have_pop3 = target_client_opts(t, pop3, &run->pop3_opts);
	run->have_imap = target_client_opts(t, imap, &run->imap_opts);
	if (!run->have_pop3 && !run->have_imap && !run->cfg.no_readers) {
		/* the implicit-TLS sections if the plain ones are missing */
		run->have_pop3 = target_client_opts(t, TARGET_POP3S,
			&run->pop3_opts);
		run->have_imap = target_client_opts(t, TARGET_IMAPS,
			&run->imap_opts);
	}
	/* Upgrade plain sections: implicit falls back to STARTTLS. */
	if (p->reader_tls != PROFILE_READER_TLS_NONE) {
		if (run->pop3_opts.tls == CLIENT_TLS_NONE)
			run->pop3_opts.tls = CLIENT_TLS_STARTTLS;
		if (run->imap_opts.tls == CLIENT_TLS_NONE)
			run->imap_opts.tls = CLIENT_TLS_STARTTLS;
	}
	if (run->cfg.no_readers)
		run->have_pop3 = run->have_imap = false;
	/* One TLS context for every session, made only when TLS is used
	 * (loading the trust store is not free). */
	bool tls = run->smtp_opts.tls != CLIENT_TLS_NONE ||
		(run->have_pop3 && run->pop3_opts.tls != CLIENT_TLS_NONE) ||
		(run->have_imap && run->imap_opts.tls != CLIENT_TLS_NONE);
	if (tls) {
		const char *err;
		run->ssl_ctx = tls_client_ctx_new(t->ca_file, &err);
		if (run->ssl_ctx == NULL) {
			*error_r = xasprintf("TLS: %s", err);
			return -1;
		}
	}
	run->smtp_opts.ssl_ctx = run->ssl_ctx;
	run->pop3_opts.ssl_ctx = run->ssl_ctx;
	run->imap_opts.ssl_ctx = run->ssl_ctx;
	run->res->verification = run->have_pop3 || run->have_imap;
	return 0;
}

static void
lgrun_schedule_init(struct lgrun *run)
{
	const struct lgrun_config *c = &run->cfg;
	const struct profile *p = c->profile;
	double rates[SCHED_MAX_HOURS];
	if (c->flat_rate_per_s > 0) {
		/* capacity step: a flat rate over duration_s of real time */
		double hours = c->duration_s / 3600.0;
		unsigned int n = (unsigned int)ceil(hours);
		if (n > SCHED_MAX_HOURS)
			n = SCHED_MAX_HOURS;
		for (unsigned int h = 0; h < n; h++)
			rates[h] = c->flat_rate_per_s * 3600.0;
		sched_init(&run->sched, rates, n, hours, 1.0, c->seed, c->shard,
			c->shards);
		run->expected_s = c->duration_s;
		return;
	}
	for (unsigned int h = 0; h < p->hours; h++)
		rates[h] = profile_hour_rate(p, h) * c->scale;
	sched_init(&run->sched, rates, p->hours, p->window_hours, c->speed,
		c->seed, c->shard, c->shards);
	run->expected_s = p->window_hours * 3600.0 / c->speed;
	if (c->duration_s > 0 && c->duration_s < run->expected_s)
		run->expected_s = c->duration_s;
}

static void
lgrun_free(struct lgrun *run)
{
	reader_stop_all(run);
	sender_stop_all(run);
	if (run->sched_ev != NULL)
		event_free(run->sched_ev);
	if (run->sched_fd >= 0)
		close(run->sched_fd);
	if (run->tick_ev != NULL)
		event_free(run->tick_ev);
	if (run->csv != NULL)
		fclose(run->csv);
	hist_free(&run->iv.smtp);
	hist_free(&run->iv.e2e);
	if (run->ssl_ctx != NULL)
		SSL_CTX_free(run->ssl_ctx);
	if (run->base != NULL)
		event_base_free(run->base);
	free(run->msgs);
	free(run->mb);
	free(run->shard_mb);
	free(run->queue);
	free(run);
}

int
lgrun_run(const struct lgrun_config *cfg, struct result *res, char **error_r)
{
	struct lgrun *run = xcalloc(1, sizeof(*run));
	run->sched_fd = -1;
	run->cfg = *cfg;
	run->res = res;
	run->iv.smtp = hist_new();
	run->iv.e2e = hist_new();
	if (lgrun_population(run, error_r) < 0 ||
	    lgrun_services(run, error_r) < 0) {
		lgrun_free(run);
		return -1;
	}
	for (size_t i = 0; cfg->print_assumptions &&
	     i < cfg->profile->assumptions.count; i++)
		fprintf(stderr, "postier-loadgen: profile %s ASSUMPTION: %s\n",
			cfg->profile->name, cfg->profile->assumptions.items[i]);
	if (cfg->csv_path != NULL) {
		run->csv = fopen(cfg->csv_path, "w");
		if (run->csv == NULL) {
			*error_r = xasprintf("%s: %m", cfg->csv_path);
			lgrun_free(run);
			return -1;
		}
		fprintf(run->csv, "time_unix,offered_per_s,achieved_per_s,"
			"errors,smtp_p50_ms,smtp_p99_ms,e2e_p99_ms\n");
	}
	lgrun_schedule_init(run);
	run->start_unix = lgrun_wall();
	if (cfg->rrd_path != NULL &&
	    lgrrd_create(cfg->rrd_path, (unsigned int)ceil(cfg->interval_s),
		    (time_t)run->start_unix,
		    (unsigned long)(run->expected_s / cfg->interval_s) +
		    (unsigned long)(cfg->drain_s / cfg->interval_s) + 100,
		    error_r) < 0) {
		lgrun_free(run);
		return -1;
	}
	/* A precise timer of its own for the schedule: sends leave within a
	 * few µs of their time (lgrun_sched_timer). */
	run->base = event_base_new();
	PASSERT(run->base != NULL);
	run->sched_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
		TFD_CLOEXEC);
	if (run->sched_fd < 0) {
		*error_r = xasprintf("timerfd_create: %m");
		lgrun_free(run);
		return -1;
	}
	run->sched_ev = event_new(run->base, run->sched_fd, EV_READ |
		EV_PERSIST, lgrun_sched_cb, run);
	run->tick_ev = event_new(run->base, -1, EV_PERSIST, lgrun_tick_cb, run);
	struct timeval tick = { (time_t)cfg->interval_s,
		(suseconds_t)((cfg->interval_s - floor(cfg->interval_s)) * 1e6) };
	event_add(run->tick_ev, &tick);

	run->start_us = client_now_us();
	res->started_unix = run->start_unix;
	if (run->have_pop3 || run->have_imap)
		reader_start_all(run);
	lgrun_advance(run);
	event_add(run->sched_ev, NULL);
	event_active(run->sched_ev, EV_READ, 0);
	event_base_dispatch(run->base);

	if (cfg->progress && isatty(STDERR_FILENO))
		fputc('\n', stderr);
	res->duration_s = (client_now_us() - run->start_us) / 1e6;
	/* Requeued or never-sent messages after a stop count as failed. */
	res->counts.failed += run->q_len;
	if (run->have_pop3 || run->have_imap)
		res->counts.lost += run->outstanding;
	lgrun_free(run);
	return 0;
}
