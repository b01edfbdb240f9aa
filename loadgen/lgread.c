/* lgread.c: the readers of a run. Each mailbox of the shard gets one
 * reader, by the profile's shares: POP3 polling (login, UIDL, RETR, DELE,
 * QUIT), periodic IMAP checks (LOGIN, SELECT, UID SEARCH, UID FETCH, STORE
 * \Deleted, EXPUNGE, LOGOUT) or a connection kept in IMAP IDLE. Everything
 * fetched is verified (msg.h) and accounted: verified, duplicated,
 * corrupted, and its end-to-end delivery time (250 -> seen). Messages are
 * deleted after reading so mailboxes stay small. */
#include "postier.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "core/log.h"
#include "core/xmalloc.h"
#include "client/cconn.h"
#include "client/imapc.h"
#include "client/pop3c.h"
#include "lgrun.h"
#include "msg.h"

enum reader_kind {
	READER_POP3,
	READER_IMAP,
	READER_IDLE,
};

struct reader {
	struct lgrun *run;
	enum reader_kind kind;
	uint32_t mb;
	struct pop3c *pop3;
	struct imapc *imap;
	struct event *timer;
	int64_t check_start_us;
	int64_t wake_us;	/* IDLE notification time of this batch */
	uint32_t *items;	/* POP3 message numbers or IMAP UIDs */
	size_t n_items, i;
	bool busy;
	bool idling;		/* IDLE reader waiting in IDLE */
};

static void reader_schedule(struct reader *r, bool first);
static void imap_batch(struct reader *r);
static void idle_enter(struct reader *r);

static int64_t
reader_interval_us(const struct reader *r)
{
	const struct lgrun *run = r->run;
	const struct profile *p = run->cfg.profile;
	double ms = r->kind == READER_POP3 ? p->pop3_interval_ms :
		p->imap_interval_ms;
	double us = ms * 1000.0 / run->cfg.speed;
	if (run->draining && us > 500000)
		us = 500000;
	if (us < 200000)
		us = 200000;
	return (int64_t)us;
}

void
reader_account(struct lgrun *run, uint32_t mb, const char *data, size_t len,
	int64_t wake_us)
{
	uint64_t seq;
	int ret = lgmsg_verify(data, len, run->cfg.run_id, &seq);
	if (ret == 0)
		return;		/* not ours: another run or other mail */
	struct lgm *m = seq != UINT64_MAX ? lgrun_msg(run, seq) : NULL;
	if (ret > 0 && m == NULL) {
		/* verified but another shard's: not counted here */
		if (seq % run->cfg.shards != run->cfg.shard)
			return;
	}
	int j = -1;
	if (m != NULL) {
		for (int k = 0; k < m->n_rcpt; k++) {
			if (m->rcpt[k] == mb)
				j = k;
		}
	}
	if (ret < 0 || m == NULL || j < 0) {
		run->res->counts.corrupted++;
		log_warn("loadgen.corrupted", "mailbox=%s seq=%lld reason=%s",
			log_quote(run->mb[mb].address),
			seq == UINT64_MAX ? -1LL : (long long)seq,
			ret < 0 ? "digest" : m == NULL ? "unknown-seq" :
			"wrong-mailbox");
		if (m != NULL && j >= 0 && (m->seen & (1u << j)) == 0 &&
		    m->state == LGM_ACCEPTED) {
			/* It arrived, damaged: corrupted, not lost. */
			m->seen |= (uint8_t)(1u << j);
			run->outstanding--;
		}
		return;
	}
	if ((m->seen & (1u << j)) != 0) {
		run->res->counts.duplicated++;
		return;
	}
	m->seen |= (uint8_t)(1u << j);
	run->res->counts.verified++;
	if (m->state != LGM_ACCEPTED)
		return;	/* delivered though the send looked failed */
	run->outstanding--;
	int64_t now = client_now_us();
	int64_t e2e = m->accepted_us > 0 ? now - m->accepted_us : 0;
	lgrun_record(run, LGOP_E2E, e2e);
	hist_record(run->iv.e2e, e2e);
	if (wake_us > 0)
		lgrun_record(run, LGOP_IDLE_WAKE,
			wake_us > m->accepted_us ? wake_us - m->accepted_us : 0);
}

static void
reader_error(struct reader *r, const char *proto, const char *step,
	const char *error)
{
	struct lgrun *run = r->run;
	run->reader_errors++;
	run->iv.errors++;
	if (run->reader_errors <= 5)
		log_warn("loadgen.reader_error", "proto=%s mailbox=%s step=%s "
			"error=%s", proto, log_quote(run->mb[r->mb].address),
			step, log_quote(error));
}

/* The check is over (sessions freed): plan the next one. */
static void
reader_check_end(struct reader *r)
{
	pop3c_free(&r->pop3);
	imapc_free(&r->imap);
	r->busy = false;
	r->idling = false;
	free(r->items);
	r->items = NULL;
	r->n_items = 0;
	if (r->run->stopping)
		return;
	reader_schedule(r, false);
	lgrun_check_done(r->run);
}

/* POP3 */

static void pop3_next(struct reader *r);

static void
pop3_quit_done(struct pop3c *c ATTR_UNUSED, int result ATTR_UNUSED,
	void *context)
{
	reader_check_end(context);
}

static void
pop3_failed(struct reader *r, int result)
{
	reader_error(r, "pop3", pop3c_step(r->pop3), result == CLIENT_ERROR ?
		pop3c_error(r->pop3) : buf_data(&pop3c_reply(r->pop3)->text));
	reader_check_end(r);
}

static void
pop3_dele_done(struct pop3c *c ATTR_UNUSED, int result, void *context)
{
	struct reader *r = context;
	if (result == CLIENT_ERROR) {
		pop3_failed(r, result);
		return;
	}
	r->i++;
	pop3_next(r);
}

static void
pop3_retr_done(struct pop3c *c, int result, void *context)
{
	struct reader *r = context;
	if (result != CLIENT_OK) {
		pop3_failed(r, result);
		return;
	}
	lgrun_record(r->run, LGOP_FETCH, pop3c_timing(c)->last_us);
	const struct pop3_reply *rep = pop3c_reply(c);
	reader_account(r->run, r->mb, buf_data(&rep->body),
		buf_len(&rep->body), 0);
	pop3c_dele(c, r->items[r->i], pop3_dele_done, r);
}

static void
pop3_next(struct reader *r)
{
	if (r->i < r->n_items && !r->run->stopping) {
		pop3c_retr(r->pop3, r->items[r->i], pop3_retr_done, r);
		return;
	}
	pop3c_quit(r->pop3, pop3_quit_done, r);
}

static void
pop3_uidl_done(struct pop3c *c, int result, void *context)
{
	struct reader *r = context;
	if (result != CLIENT_OK) {
		pop3_failed(r, result);
		return;
	}
	size_t n;
	const struct pop3c_uidl *list = pop3c_uidl_list(c, &n);
	r->items = xmalloc((n + 1) * sizeof(*r->items));
	for (size_t k = 0; k < n; k++)
		r->items[k] = list[k].msgno;
	r->n_items = n;
	r->i = 0;
	pop3_next(r);
}

static void
pop3_opened(struct pop3c *c, int result, void *context)
{
	struct reader *r = context;
	struct client_timing *t = pop3c_timing(c);
	if (t->connect_us > 0)
		lgrun_record(r->run, LGOP_CONNECT, t->connect_us);
	if (t->tls_us > 0)
		lgrun_record(r->run, LGOP_TLS, t->tls_us);
	if (result != CLIENT_OK) {
		pop3_failed(r, result);
		return;
	}
	lgrun_record(r->run, LGOP_LOGIN, client_now_us() - r->check_start_us);
	pop3c_uidl(c, pop3_uidl_done, r);
}

/* IMAP (periodic checks and IDLE share the batch) */

static void
imap_failed(struct reader *r, int result)
{
	reader_error(r, r->kind == READER_IDLE ? "imap-idle" : "imap",
		imapc_step(r->imap), result == CLIENT_ERROR ?
		imapc_error(r->imap) : buf_data(&imapc_resp(r->imap)->text));
	reader_check_end(r);
}

static void
imap_logout_done(struct imapc *c ATTR_UNUSED, int result ATTR_UNUSED,
	void *context)
{
	reader_check_end(context);
}

static void
imap_batch_end(struct reader *r)
{
	free(r->items);
	r->items = NULL;
	r->n_items = 0;
	lgrun_check_done(r->run);
	if (r->kind == READER_IDLE && !r->run->stopping) {
		idle_enter(r);
		return;
	}
	imapc_logout(r->imap, imap_logout_done, r);
}

static void
imap_expunge_done(struct imapc *c ATTR_UNUSED, int result, void *context)
{
	struct reader *r = context;
	if (result == CLIENT_ERROR) {
		imap_failed(r, result);
		return;
	}
	imap_batch_end(r);
}

static void imap_next(struct reader *r);

static void
imap_store_done(struct imapc *c ATTR_UNUSED, int result, void *context)
{
	struct reader *r = context;
	if (result == CLIENT_ERROR) {
		imap_failed(r, result);
		return;
	}
	r->i++;
	imap_next(r);
}

static void
imap_fetch_done(struct imapc *c, int result, void *context)
{
	struct reader *r = context;
	if (result != CLIENT_OK) {
		imap_failed(r, result);
		return;
	}
	lgrun_record(r->run, LGOP_FETCH, imapc_timing(c)->last_us);
	const struct imap_resp *resp = imapc_resp(c);
	if (resp->n_literals > 0)
		reader_account(r->run, r->mb, buf_data(&resp->literals),
			buf_len(&resp->literals), r->wake_us);
	imapc_uid_store_deleted(c, r->items[r->i], imap_store_done, r);
}

static void
imap_next(struct reader *r)
{
	if (r->i < r->n_items && !r->run->stopping) {
		imapc_uid_fetch_body(r->imap, r->items[r->i], imap_fetch_done, r);
		return;
	}
	if (r->n_items > 0) {
		imapc_expunge(r->imap, imap_expunge_done, r);
		return;
	}
	imap_batch_end(r);
}

static void
imap_search_done(struct imapc *c, int result, void *context)
{
	struct reader *r = context;
	if (result != CLIENT_OK) {
		imap_failed(r, result);
		return;
	}
	size_t n;
	const uint32_t *uids = imapc_uids(c, &n);
	free(r->items);
	r->items = xmalloc((n + 1) * sizeof(*r->items));
	if (n > 0)
		memcpy(r->items, uids, n * sizeof(*uids));
	r->n_items = n;
	r->i = 0;
	imap_next(r);
}

static void
imap_batch(struct reader *r)
{
	imapc_uid_search(r->imap, "ALL", imap_search_done, r);
}

static void
imap_selected(struct imapc *c ATTR_UNUSED, int result, void *context)
{
	struct reader *r = context;
	if (result != CLIENT_OK) {
		imap_failed(r, result);
		return;
	}
	r->wake_us = 0;
	imap_batch(r);
}

static void
imap_opened(struct imapc *c, int result, void *context)
{
	struct reader *r = context;
	struct client_timing *t = imapc_timing(c);
	if (t->connect_us > 0)
		lgrun_record(r->run, LGOP_CONNECT, t->connect_us);
	if (t->tls_us > 0)
		lgrun_record(r->run, LGOP_TLS, t->tls_us);
	if (result != CLIENT_OK) {
		imap_failed(r, result);
		return;
	}
	lgrun_record(r->run, LGOP_LOGIN, client_now_us() - r->check_start_us);
	imapc_select(c, "INBOX", imap_selected, r);
}

/* IDLE */

static void
idle_done_reply(struct imapc *c ATTR_UNUSED, int result, void *context)
{
	struct reader *r = context;
	if (result == CLIENT_ERROR) {
		imap_failed(r, result);
		return;
	}
	imap_batch(r);
}

static void
idle_event(struct imapc *c, int result, void *context)
{
	struct reader *r = context;
	r->idling = false;
	if (result == CLIENT_ERROR) {
		imap_failed(r, result);
		return;
	}
	/* Something changed (or the server ended IDLE): DONE, then read. */
	r->wake_us = client_now_us();
	imapc_idle_done(c, idle_done_reply, r);
}

static void
idle_started(struct imapc *c, int result, void *context)
{
	struct reader *r = context;
	if (result != CLIENT_OK) {
		imap_failed(r, result);
		return;
	}
	r->idling = true;
	imapc_idle_wait(c, idle_event, r);
}

static void
idle_enter(struct reader *r)
{
	/* RFC 2177: re-issue IDLE at least every 29 minutes; the refresh
	 * timer (reader_timer_cb) does it much more often. */
	cconn_set_timeout_ms(imapc_conn(r->imap), 29 * 60 * 1000);
	r->wake_us = 0;
	imapc_idle(r->imap, idle_started, r);
}

/* checks */

static void
reader_timer_cb(evutil_socket_t fd ATTR_UNUSED, short what ATTR_UNUSED,
	void *context)
{
	struct reader *r = context;
	struct lgrun *run = r->run;
	if (run->stopping)
		return;
	if (r->kind == READER_IDLE && r->busy) {
		/* Safety net: leave IDLE and look, in case a notification
		 * was missed; then IDLE again. */
		if (r->idling) {
			cconn_cancel(imapc_conn(r->imap));
			r->idling = false;
			r->wake_us = 0;
			imapc_idle_done(r->imap, idle_done_reply, r);
		}
		reader_schedule(r, false);
		return;
	}
	if (r->busy)
		return;
	r->busy = true;
	r->check_start_us = client_now_us();
	if (r->kind == READER_POP3) {
		r->pop3 = pop3c_new(run->base, &run->pop3_opts);
		pop3c_open(r->pop3, run->mb[r->mb].address,
			run->mb[r->mb].password, pop3_opened, r);
	} else {
		r->imap = imapc_new(run->base, &run->imap_opts);
		imapc_open(r->imap, run->mb[r->mb].address,
			run->mb[r->mb].password, imap_opened, r);
	}
	if (r->kind == READER_IDLE)
		reader_schedule(r, false);
}

static void
reader_schedule(struct reader *r, bool first)
{
	int64_t us = reader_interval_us(r);
	if (first) {
		/* spread the first checks over one interval */
		us = (int64_t)((double)us * ((r->mb * 2654435761u) % 1000) /
			1000.0);
	}
	if (r->kind == READER_IDLE && !first)
		us = us > 5000000 ? 5000000 : us;
	struct timeval tv = { (time_t)(us / 1000000),
		(suseconds_t)(us % 1000000) };
	evtimer_add(r->timer, &tv);
}

void
reader_start_all(struct lgrun *run)
{
	const struct profile *p = run->cfg.profile;
	run->readers = xcalloc(run->n_shard_mb + 1, sizeof(*run->readers));
	for (uint32_t k = 0; k < run->n_shard_mb; k++) {
		uint32_t mb = run->shard_mb[k];
		/* deterministic share by mailbox: golden-ratio hash in [0,1) */
		double u = (double)((mb * 2654435761u) % 100000) / 100000.0;
		enum reader_kind kind = u < p->pop3_share ? READER_POP3 :
			u < p->pop3_share + p->imap_share ? READER_IMAP :
			READER_IDLE;
		if (kind == READER_POP3 && !run->have_pop3)
			kind = READER_IMAP;
		if (kind != READER_POP3 && !run->have_imap)
			kind = READER_POP3;
		struct reader *r = xcalloc(1, sizeof(*r));
		r->run = run;
		r->kind = kind;
		r->mb = mb;
		r->timer = evtimer_new(run->base, reader_timer_cb, r);
		run->readers[run->n_readers++] = r;
		reader_schedule(r, true);
	}
}

void
reader_stop_all(struct lgrun *run)
{
	for (size_t k = 0; k < run->n_readers; k++) {
		struct reader *r = run->readers[k];
		pop3c_free(&r->pop3);
		imapc_free(&r->imap);
		event_free(r->timer);
		free(r->items);
		free(r);
	}
	free(run->readers);
	run->readers = NULL;
	run->n_readers = 0;
}
