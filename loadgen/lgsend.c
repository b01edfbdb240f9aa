/* lgsend.c: SMTP senders of a run. A message is handed to an idle
 * connection, to a new one while fewer than max_connections are open, or
 * queued; its latency counts from its scheduled time either way, so waiting
 * for a connection shows in the figures (no coordinated omission).
 * Connections are reused for messages_per_connection messages, like an MTA
 * or a mail client would, and closed after a short idle time. When a
 * message is queued as a transaction starts, it is taken by this connection
 * and its MAIL, RCPT and DATA go in the same write as this end of data
 * (RFC 2920 pipelining, when the server offers it). */
#include "postier.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "core/log.h"
#include "core/xmalloc.h"
#include "client/smtpc.h"
#include "lgrun.h"
#include "msg.h"

#define SENDER_IDLE_MS 2000

struct sender {
	struct lgrun *run;
	struct smtpc *c;
	struct sender *next_idle;
	struct sender *all_prev, *all_next;	/* every open connection */
	struct event *idle_ev;
	uint32_t msg;		/* local index of the current message */
	uint64_t seq;
	unsigned int used;	/* messages sent over this connection */
	unsigned int rcpt_i;
	bool open;
	/* messages[cur] is being sent, borrowed by smtpc until DATA
	 * completes; messages[cur ^ 1] holds the next one when has_next */
	struct lgmsg_iov messages[2];
	unsigned int cur;
	bool has_next;		/* next_msg is this connection's, built */
	bool built;		/* messages[cur] already holds msg */
	uint32_t next_msg;
};

static void sender_begin(struct sender *s, uint32_t local);

static void
sender_free(struct sender *s)
{
	struct lgrun *run = s->run;
	if (s->all_prev != NULL)
		s->all_prev->all_next = s->all_next;
	else
		run->all_senders = s->all_next;
	if (s->all_next != NULL)
		s->all_next->all_prev = s->all_prev;
	smtpc_free(&s->c);
	event_free(s->idle_ev);
	lgmsg_iov_clear(&s->messages[0]);
	lgmsg_iov_clear(&s->messages[1]);
	free(s);
	PASSERT(run->n_senders > 0);
	run->n_senders--;
}

static void
sender_unlink_idle(struct sender *s)
{
	for (struct sender **p = &s->run->idle; *p != NULL;
	     p = &(*p)->next_idle) {
		if (*p == s) {
			*p = s->next_idle;
			s->next_idle = NULL;
			return;
		}
	}
}

static bool
sender_queue_pop(struct lgrun *run, uint32_t *local_r)
{
	lgrun_sched_pull(run);
	if (run->q_len == 0)
		return false;
	*local_r = run->queue[run->q_head];
	run->q_head = (run->q_head + 1) % run->q_cap;
	run->q_len--;
	return true;
}

void
sender_enqueue(struct lgrun *run, uint32_t local)
{
	if (run->q_len == run->q_cap) {
		size_t cap = run->q_cap * 2 + 256;
		uint32_t *q = xmalloc(cap * sizeof(*q));
		for (size_t i = 0; i < run->q_len; i++)
			q[i] = run->queue[(run->q_head + i) % run->q_cap];
		free(run->queue);
		run->queue = q;
		run->q_cap = cap;
		run->q_head = 0;
	}
	run->queue[(run->q_head + run->q_len) % run->q_cap] = local;
	run->q_len++;
}

static void
sender_quit_done(struct smtpc *c ATTR_UNUSED, int result ATTR_UNUSED,
	void *context)
{
	struct sender *s = context;
	struct lgrun *run = s->run;
	sender_free(s);
	/* A connection slot became free: a queued message may start. */
	uint32_t local;
	if (!run->stopping && sender_queue_pop(run, &local))
		sender_submit(run, local);
	lgrun_sched_resume(run);
	lgrun_check_done(run);
}

static void
sender_idle_expired(evutil_socket_t fd ATTR_UNUSED, short what ATTR_UNUSED,
	void *context)
{
	struct sender *s = context;
	sender_unlink_idle(s);
	smtpc_quit(s->c, sender_quit_done, s);
}

/* The connection is done with a message: next queued one, idle, or QUIT. */
static void
sender_release(struct sender *s)
{
	struct lgrun *run = s->run;
	run->n_busy--;
	if (s->has_next) {
		/* its commands are out already: it goes whatever happens */
		s->has_next = false;
		s->cur ^= 1;
		s->built = true;
		run->n_busy++;
		sender_begin(s, s->next_msg);
		return;
	}
	if (s->used >= run->cfg.profile->messages_per_connection ||
	    run->stopping) {
		smtpc_quit(s->c, sender_quit_done, s);
		return;
	}
	uint32_t local;
	if (sender_queue_pop(run, &local)) {
		run->n_busy++;
		sender_begin(s, local);
		return;
	}
	s->next_idle = run->idle;
	run->idle = s;
	struct timeval tv = { SENDER_IDLE_MS / 1000,
		(SENDER_IDLE_MS % 1000) * 1000 };
	evtimer_add(s->idle_ev, &tv);
	lgrun_sched_resume(run);
	lgrun_check_done(run);
}

static void
sender_failed(struct sender *s, const char *what)
{
	struct lgrun *run = s->run;
	struct lgm *m = &run->msgs[s->msg];
	m->state = LGM_FAILED;
	run->res->counts.failed++;
	run->iv.errors++;
	if (run->res->counts.failed <= 5) {
		const struct smtp_reply *r = smtpc_reply(s->c);
		log_warn("loadgen.send_failed", "seq=%llu step=%s error=%s "
			"reply=%s", (unsigned long long)s->seq, what,
			log_quote(smtpc_error(s->c)),
			log_quote(r->code != 0 ? buf_data(&r->text) : ""));
	}
	run->n_busy--;
	if (s->has_next) {
		/* taken from the queue for this connection: back in line */
		run->msgs[s->next_msg].state = LGM_PENDING;
		sender_enqueue(run, s->next_msg);
	}
	sender_free(s);
	uint32_t local;
	if (!run->stopping && sender_queue_pop(run, &local))
		sender_submit(run, local);
	lgrun_sched_resume(run);
	lgrun_check_done(run);
}

static void
sender_data_done(struct smtpc *c ATTR_UNUSED, int result, void *context)
{
	struct sender *s = context;
	struct lgrun *run = s->run;
	if (result != CLIENT_OK) {
		sender_failed(s, smtpc_step(s->c));
		return;
	}
	struct lgm *m = &run->msgs[s->msg];
	int64_t now = client_now_us();
	m->accepted_us = now;
	m->state = LGM_ACCEPTED;
	run->res->counts.accepted++;
	run->res->counts.deliveries += m->n_rcpt;
	/* a reader may have fetched a copy before this 250 was read (the
	 * server delivers before it replies, and both arrive on this loop):
	 * those recipients are verified already, not outstanding, and were
	 * visible as soon as accepted (end-to-end time 0) */
	if (!run->cfg.no_readers) {
		int seen = __builtin_popcount(m->seen);
		run->outstanding += (uint64_t)(m->n_rcpt - seen);
		for (int k = 0; k < seen; k++) {
			lgrun_record(run, LGOP_E2E, 0);
			hist_record(run->iv.e2e, 0);
		}
	}
	run->iv.accepted++;
	lgrun_record(run, LGOP_SMTP, now - m->sched_us);
	hist_record(run->iv.smtp, now - m->sched_us);
	sender_release(s);
}

/* Builds message local into messages[slot]. */
static void
sender_build(struct sender *s, uint32_t local, unsigned int slot)
{
	struct lgrun *run = s->run;
	struct lgm *m = &run->msgs[local];
	const char *to[LGRUN_MAX_RCPT];
	for (unsigned int i = 0; i < m->n_rcpt; i++)
		to[i] = run->mb[m->rcpt[i]].address;
	struct lgmsg_spec spec = {
		.run_id = run->cfg.run_id,
		.seq = (uint64_t)local * run->cfg.shards + run->cfg.shard,
		.from = run->mb[m->from].address,
		.to = to,
		.n_to = m->n_rcpt,
		.size = m->size,
		.attachment = m->attachment,
		.date_unix = (int64_t)time(NULL),
	};
	lgmsg_build_iov(&s->messages[slot], &spec);
}

/* The envelope of message local, built in messages[slot]; to[] gets the
 * recipients. */
static void
sender_envelope(struct sender *s, uint32_t local, unsigned int slot,
	const char **to, struct smtpc_envelope *env_r)
{
	struct lgrun *run = s->run;
	struct lgm *m = &run->msgs[local];
	for (unsigned int i = 0; i < m->n_rcpt; i++)
		to[i] = run->mb[m->rcpt[i]].address;
	*env_r = (struct smtpc_envelope){
		.from = run->mb[m->from].address,
		.size = s->messages[slot].len,
		.rcpts = to,
		.n_rcpts = m->n_rcpt,
	};
}

static void
sender_transaction(struct sender *s)
{
	struct lgrun *run = s->run;
	if (!s->built)
		sender_build(s, s->msg, s->cur);
	s->built = false;
	const char *to[LGRUN_MAX_RCPT], *next_to[LGRUN_MAX_RCPT];
	struct smtpc_envelope env, next_env;
	sender_envelope(s, s->msg, s->cur, to, &env);
	/* A queued message is this connection's next: its commands go with
	 * this end of data, saving a write and a wait per message. */
	const struct smtpc_envelope *next = NULL;
	uint32_t local;
	if (!run->stopping &&
	    s->used + 1 < run->cfg.profile->messages_per_connection &&
	    sender_queue_pop(run, &local)) {
		s->has_next = true;
		s->next_msg = local;
		run->msgs[local].state = LGM_SENDING;
		sender_build(s, local, s->cur ^ 1);
		sender_envelope(s, local, s->cur ^ 1, next_to, &next_env);
		next = &next_env;
	}
	s->used++;
	run->res->counts.sent++;
	/* MAIL, RCPT and DATA in one write when the server pipelines; the
	 * message by reference: its text is the shared block */
	smtpc_send_message_iov(s->c, &env, s->messages[s->cur].iov,
		(int)s->messages[s->cur].n, next, sender_data_done, s);
}

static void
sender_opened(struct smtpc *c, int result, void *context)
{
	struct sender *s = context;
	struct lgrun *run = s->run;
	struct client_timing *t = smtpc_timing(c);
	if (t->connect_us > 0)
		lgrun_record(run, LGOP_CONNECT, t->connect_us);
	if (t->tls_us > 0)
		lgrun_record(run, LGOP_TLS, t->tls_us);
	if (result != CLIENT_OK) {
		run->res->counts.sent++;
		sender_failed(s, smtpc_step(c));
		return;
	}
	if (t->auth_us > 0)
		lgrun_record(run, LGOP_AUTH, t->auth_us);
	s->open = true;
	sender_transaction(s);
}

static void
sender_begin(struct sender *s, uint32_t local)
{
	struct lgrun *run = s->run;
	struct lgm *m = &run->msgs[local];
	s->msg = local;
	s->seq = (uint64_t)local * run->cfg.shards + run->cfg.shard;
	m->state = LGM_SENDING;
	if (s->open) {
		sender_transaction(s);
		return;
	}
	const struct lgmailbox *from = &run->mb[m->from];
	bool auth = run->cfg.profile->auth;
	smtpc_open(s->c, "loadgen.postier.invalid",
		auth ? from->address : NULL, auth ? from->password : NULL,
		sender_opened, s);
}

void
sender_submit(struct lgrun *run, uint32_t local)
{
	struct sender *s = run->idle;
	if (s != NULL) {
		run->idle = s->next_idle;
		s->next_idle = NULL;
		evtimer_del(s->idle_ev);
	} else if (run->n_senders <
		   (unsigned int)run->cfg.profile->max_connections) {
		s = xcalloc(1, sizeof(*s));
		lgmsg_iov_init(&s->messages[0]);
		lgmsg_iov_init(&s->messages[1]);
		s->run = run;
		s->c = smtpc_new(run->base, &run->smtp_opts);
		s->idle_ev = evtimer_new(run->base, sender_idle_expired, s);
		s->all_next = run->all_senders;
		if (s->all_next != NULL)
			s->all_next->all_prev = s;
		run->all_senders = s;
		run->n_senders++;
	} else {
		sender_enqueue(run, local);
		return;
	}
	run->n_busy++;
	sender_begin(s, local);
}

void
sender_stop_all(struct lgrun *run)
{
	run->idle = NULL;
	while (run->all_senders != NULL) {
		struct sender *s = run->all_senders;
		if (s->has_next) {
			/* taken from the queue but never sent: failed, like
			 * what is still queued when the run stops */
			run->msgs[s->next_msg].state = LGM_FAILED;
			run->res->counts.failed++;
		}
		sender_free(s);
	}
}
