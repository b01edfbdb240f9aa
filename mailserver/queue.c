/* queue.c: the durable queue (queue.h): spool files, the group committer,
 * delivery workers, recovery, retries with backoff and bounces.
 *
 * Life of a message: queue_txn_begin() creates DATA_DIR/queue/tmp/<id> and
 * the session streams records into it (page cache only). queue_txn_commit()
 * writes the END record and hands the txn to the committer thread, which
 * takes every commit waiting (up to queue.commit_max_batch): starts
 * writeback of all, fdatasync()s each, renames each to queue/active/<id>,
 * fsyncs queue/active once, and only then posts each session's callback to
 * its loop (-> 250). The entry then waits in memory for a delivery worker;
 * delivery.c makes the Maildir copies durable in batches and the entry's
 * file is unlinked. At start-up queue/tmp is emptied (never acknowledged)
 * and every complete file in queue/active is delivered again: delivery
 * names are derived from the queue id, so a copy that was already in a
 * Maildir is found (counted as a duplicate avoided) instead of repeated.
 *
 * Left out: outbound SMTP (the queue holds local recipients only), per-domain
 * queues, and persistence of retry counters (a restart retries at once). */
#include "postier.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/metric.h"
#include "core/xmalloc.h"
#include "conn.h"
#include "delivery.h"
#include "loop.h"
#include "maildir_write.h"
#include "queue.h"
#include "queue_internal.h"
#include "settings.h"
#include "spool.h"

/* Message bytes per D record: one writev() each. */
#define QUEUE_DATA_CHUNK (64 * 1024)
/* Messages one delivery worker takes at once (one fsync round). */
#define QUEUE_DELIVERY_BATCH 64

struct queue_txn {
	int fd;
	char *id;                  /* survives env moving into the entry */
	char *tmp_path;
	struct spool_envelope env; /* built as we write */
	struct buf meta;           /* records not yet written */
	struct buf data;           /* message bytes not yet written */
	uint64_t file_offset;      /* bytes written to fd so far */
	bool last_cr;
	bool failed;

	/* the commit */
	struct loop *loop;
	uint64_t conn_id;
	queue_commit_cb *done;
	void *context;
	int status;
	struct queue_txn *next;
};

struct queue_entry {
	struct spool_envelope env;
	char *path;                       /* queue/active/<id> */
	enum delivery_rcpt_state *state;  /* per recipient */
	char **error;
	unsigned attempts;
	int64_t next_try_us;
	bool recovered;
	struct queue_entry *prev, *next;  /* all entries, oldest first */
	struct queue_entry *qnext;        /* ready or retry list */
};

static struct {
	char *data_dir;
	char *spool_dir;   /* DATA_DIR/queue */
	char *tmp_dir;
	char *active_dir;
	char *hostname;
	size_t commit_max_batch;
	unsigned delivery_workers;
	int64_t retry_min_us, retry_max_us, max_lifetime_us;
	atomic_uint_fast64_t seq;
	int active_dir_fd;

	pthread_mutex_t lock;
	pthread_cond_t commit_cond;   /* commits waiting or stopping */
	pthread_cond_t deliver_cond;  /* entries ready or stopping */
	struct queue_txn *commit_head, **commit_tail;
	struct queue_entry *all_head, *all_tail;
	struct queue_entry *ready_head, **ready_tail;
	struct queue_entry *retry_head;   /* unordered; small */
	long long count;
	bool stopping;
	bool committer_alive;
	unsigned workers_alive;

	pthread_t committer;
	pthread_t *workers;
	bool started;

	void (*hook)(const char *address, const char *maildir, void *context);
	void *hook_context;
} queue = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.active_dir_fd = -1,
};

int64_t
queue_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static double
queue_monotonic_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

const char *
queue_hostname(void)
{
	return queue.hostname != NULL ? queue.hostname : "localhost";
}

/* ---- entries (lock held) ---- */

static void
queue_entry_free(struct queue_entry **ep)
{
	struct queue_entry *e = *ep;
	*ep = NULL;
	if (e == NULL)
		return;
	for (size_t i = 0; i < e->env.rcpt_count; i++)
		free(e->error[i]);
	free(e->error);
	free(e->state);
	spool_envelope_clear(&e->env);
	free(e->path);
	free(e);
}

static void
queue_count_changed(void)
{
	metric_gauge_set(METRIC_QUEUE_MESSAGES, queue.count);
}

static void
queue_link_entry(struct queue_entry *e)
{
	e->prev = queue.all_tail;
	e->next = NULL;
	if (queue.all_tail != NULL)
		queue.all_tail->next = e;
	else
		queue.all_head = e;
	queue.all_tail = e;
	queue.count++;
	queue_count_changed();
}

static void
queue_unlink_entry(struct queue_entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		queue.all_head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		queue.all_tail = e->prev;
	queue.count--;
	queue_count_changed();
}

static void
queue_push_ready(struct queue_entry *e)
{
	e->qnext = NULL;
	*queue.ready_tail = e;
	queue.ready_tail = &e->qnext;
}

/* Takes ownership of env (moved). */
static struct queue_entry *
queue_entry_new(struct spool_envelope *env, const char *path, bool recovered)
{
	struct queue_entry *e = xcalloc(1, sizeof(*e));
	e->env = *env;
	memset(env, 0, sizeof(*env));
	e->path = xstrdup(path);
	e->state = xcalloc(e->env.rcpt_count, sizeof(*e->state));
	e->error = xcalloc(e->env.rcpt_count, sizeof(*e->error));
	e->recovered = recovered;
	return e;
}

/* ---- transactions ---- */

static const char *
queue_set_str(const char *s)
{
	return s != NULL ? s : "";
}

struct queue_txn *
queue_txn_begin(const struct queue_txn_info *info, char **error_r)
{
	if (!queue.started) {
		*error_r = xasprintf("queue not running");
		return NULL;
	}
	struct queue_txn *txn = xcalloc(1, sizeof(*txn));
	buf_init(&txn->meta);
	buf_init(&txn->data);
	txn->env.time_us = queue_now_us();
	struct buf id;
	buf_init(&id);
	for (int tries = 0; ; tries++) {
		buf_reset(&id);
		maildir_unique_id(&id, txn->env.time_us, getpid(),
			atomic_fetch_add(&queue.seq, 1));
		txn->tmp_path = xasprintf("%s/%s", queue.tmp_dir, buf_data(&id));
		txn->fd = open(txn->tmp_path,
			O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (txn->fd >= 0 || errno != EEXIST || tries == 3)
			break;
		free(txn->tmp_path);
	}
	if (txn->fd < 0) {
		*error_r = xasprintf("create %s: %s", txn->tmp_path,
			strerror(errno));
		log_error("queue.create_failed", "sid=%s path=%s error=%s",
			queue_set_str(info->sid), log_quote(txn->tmp_path),
			log_quote(strerror(errno)));
		free(txn->tmp_path);
		buf_clear(&id);
		buf_clear(&txn->meta);
		buf_clear(&txn->data);
		free(txn);
		return NULL;
	}
	struct spool_envelope *env = &txn->env;
	env->id = buf_steal(&id);
	txn->id = xstrdup(env->id);
	env->host = xstrdup(queue_hostname());
	env->from = xstrdup(queue_set_str(info->return_path));
	env->helo = xstrdup(queue_set_str(info->helo));
	env->client = xstrdup(queue_set_str(info->client_ip));
	env->auth = info->auth_user != NULL ? xstrdup(info->auth_user) : NULL;
	env->sid = xstrdup(queue_set_str(info->sid));

	buf_append(&txn->meta, SPOOL_MAGIC, SPOOL_MAGIC_LEN);
	char t[32];
	int tlen = snprintf(t, sizeof(t), "%lld", (long long)env->time_us);
	spool_append_record(&txn->meta, SPOOL_REC_ID, env->id, strlen(env->id));
	spool_append_record(&txn->meta, SPOOL_REC_TIME, t, tlen);
	spool_append_record(&txn->meta, SPOOL_REC_HOST, env->host,
		strlen(env->host));
	spool_append_record(&txn->meta, SPOOL_REC_FROM, env->from,
		strlen(env->from));
	spool_append_record(&txn->meta, SPOOL_REC_HELO, env->helo,
		strlen(env->helo));
	spool_append_record(&txn->meta, SPOOL_REC_CLIENT, env->client,
		strlen(env->client));
	if (env->auth != NULL) {
		spool_append_record(&txn->meta, SPOOL_REC_AUTH, env->auth,
			strlen(env->auth));
	}
	spool_append_record(&txn->meta, SPOOL_REC_SID, env->sid,
		strlen(env->sid));
	return txn;
}

void
queue_txn_add_rcpt(struct queue_txn *txn, const char *address,
	const char *maildir)
{
	struct spool_envelope *env = &txn->env;
	env->rcpts = xrealloc(env->rcpts,
		(env->rcpt_count + 1) * sizeof(*env->rcpts));
	env->rcpts[env->rcpt_count].address = xstrdup(address);
	env->rcpts[env->rcpt_count].maildir = xstrdup(maildir);
	env->rcpt_count++;
	size_t alen = strlen(address), mlen = strlen(maildir);
	spool_append_header(&txn->meta, SPOOL_REC_RCPT, alen + 1 + mlen);
	buf_append(&txn->meta, address, alen);
	buf_append_char(&txn->meta, '\0');
	buf_append(&txn->meta, maildir, mlen);
}

/* Writes meta, the pending data as one D record, and extra (may be NULL). */
static int
queue_txn_flush(struct queue_txn *txn, const struct buf *extra)
{
	if (txn->failed)
		return -1;
	struct iovec iov[4];
	int n = 0;
	unsigned char dh[SPOOL_RECORD_HEADER_LEN];
	size_t data_len = buf_len(&txn->data);
	if (buf_len(&txn->meta) > 0) {
		iov[n].iov_base = (void *)buf_data(&txn->meta);
		iov[n++].iov_len = buf_len(&txn->meta);
	}
	uint64_t data_offset = txn->file_offset + buf_len(&txn->meta) +
		SPOOL_RECORD_HEADER_LEN;
	if (data_len > 0) {
		dh[0] = SPOOL_REC_DATA;
		dh[1] = data_len >> 24;
		dh[2] = data_len >> 16;
		dh[3] = data_len >> 8;
		dh[4] = data_len;
		iov[n].iov_base = dh;
		iov[n++].iov_len = sizeof(dh);
		iov[n].iov_base = (void *)buf_data(&txn->data);
		iov[n++].iov_len = data_len;
	}
	if (extra != NULL && buf_len(extra) > 0) {
		iov[n].iov_base = (void *)buf_data(extra);
		iov[n++].iov_len = buf_len(extra);
	}
	size_t total = 0;
	for (int i = 0; i < n; i++)
		total += iov[i].iov_len;
	struct iovec *v = iov;
	size_t left = total;
	while (left > 0) {
		ssize_t w = writev(txn->fd, v, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			log_error("queue.write_failed", "id=%s error=%s",
				txn->env.id, log_quote(strerror(errno)));
			txn->failed = true;
			return -1;
		}
		left -= w;
		while (n > 0 && (size_t)w >= v->iov_len) {
			w -= v->iov_len;
			v++;
			n--;
		}
		if (n > 0) {
			v->iov_base = (char *)v->iov_base + w;
			v->iov_len -= w;
		}
	}
	if (data_len > 0) {
		struct spool_envelope *env = &txn->env;
		if ((env->data_count & (env->data_count - 1)) == 0) {
			size_t cap = env->data_count == 0 ? 4 :
				env->data_count * 2;
			env->data = xrealloc(env->data,
				cap * sizeof(*env->data));
		}
		env->data[env->data_count].offset = data_offset;
		env->data[env->data_count].len = data_len;
		env->data_count++;
	}
	txn->file_offset += total;
	buf_reset(&txn->meta);
	buf_reset(&txn->data);
	return 0;
}

int
queue_txn_write(struct queue_txn *txn, const void *data, size_t len)
{
	const unsigned char *p = data, *end = p + len;
	struct spool_envelope *env = &txn->env;
	/* vsize: every line end counted as CRLF (RFC 3501 RFC822.SIZE,
	 * Dovecot's W=); memchr() keeps this cheap on 140 KiB bodies */
	for (const unsigned char *q = p;
	     (q = memchr(q, '\n', end - q)) != NULL; q++) {
		bool cr = q > p ? q[-1] == '\r' : txn->last_cr;
		if (!cr)
			env->vsize++;
	}
	if (len > 0)
		txn->last_cr = p[len - 1] == '\r';
	env->vsize += len;
	env->size += len;
	while (len > 0) {
		size_t room = QUEUE_DATA_CHUNK - buf_len(&txn->data);
		size_t n = len < room ? len : room;
		buf_append(&txn->data, p, n);
		p += n;
		len -= n;
		if (buf_len(&txn->data) == QUEUE_DATA_CHUNK &&
		    queue_txn_flush(txn, NULL) < 0)
			return -1;
	}
	return txn->failed ? -1 : 0;
}

size_t
queue_txn_size(const struct queue_txn *txn)
{
	return txn->env.size;
}

static void
queue_txn_free(struct queue_txn **txnp)
{
	struct queue_txn *txn = *txnp;
	*txnp = NULL;
	if (txn == NULL)
		return;
	if (txn->fd >= 0)
		close(txn->fd);
	free(txn->tmp_path);
	free(txn->id);
	spool_envelope_clear(&txn->env);
	buf_clear(&txn->meta);
	buf_clear(&txn->data);
	free(txn);
}

void
queue_txn_abort(struct queue_txn **txnp)
{
	struct queue_txn *txn = *txnp;
	if (txn == NULL)
		return;
	(void)unlink(txn->tmp_path);
	queue_txn_free(txnp);
}

struct queue_reply {
	struct loop *loop;
	uint64_t conn_id;
	queue_commit_cb *done;
	void *context;
	int status;
	char *id;
};

static void
queue_reply_run(void *arg)
{
	struct queue_reply *r = arg;
	struct conn *c = loop_find_conn(r->loop, r->conn_id);
	r->done(c, r->status, r->id, r->context);
	free(r->id);
	free(r);
}

/* Sends the commit result to the session (committer thread or, for early
 * failures, the loop thread itself: loop_post() runs it later either way). */
static void
queue_txn_answer(struct queue_txn *txn)
{
	if (txn->done == NULL)
		return;
	if (txn->loop == NULL) {
		txn->done(NULL, txn->status, txn->id, txn->context);
		return;
	}
	struct queue_reply *r = xcalloc(1, sizeof(*r));
	r->loop = txn->loop;
	r->conn_id = txn->conn_id;
	r->done = txn->done;
	r->context = txn->context;
	r->status = txn->status;
	r->id = xstrdup(txn->id);
	loop_post(txn->loop, queue_reply_run, r);
}

void
queue_txn_commit(struct queue_txn *txn, struct conn *c,
	queue_commit_cb *done, void *context)
{
	txn->done = done;
	txn->context = context;
	if (c != NULL) {
		txn->loop = conn_loop(c);
		txn->conn_id = conn_id(c);
	}
	struct buf end;
	buf_init(&end);
	char e[80];
	int elen = snprintf(e, sizeof(e), "%llu %llu %zu",
		(unsigned long long)txn->env.size,
		(unsigned long long)txn->env.vsize, txn->env.rcpt_count);
	spool_append_record(&end, SPOOL_REC_END, e, elen);
	bool stopping;
	pthread_mutex_lock(&queue.lock);
	stopping = queue.stopping;
	pthread_mutex_unlock(&queue.lock);
	int ret = txn->env.rcpt_count == 0 || stopping ? -1 :
		queue_txn_flush(txn, &end);
	buf_clear(&end);
	if (ret < 0) {
		(void)unlink(txn->tmp_path);
		txn->status = -1;
		queue_txn_answer(txn);
		queue_txn_free(&txn);
		return;
	}
	pthread_mutex_lock(&queue.lock);
	txn->next = NULL;
	*queue.commit_tail = txn;
	queue.commit_tail = &txn->next;
	pthread_cond_signal(&queue.commit_cond);
	pthread_mutex_unlock(&queue.lock);
}

/* ---- the group committer ---- */

static void
queue_commit_batch(struct queue_txn **batch, size_t n)
{
	double start = queue_monotonic_s();
	/* start writeback of every file first: the first fdatasync() below
	 * then commits the file system journal for most of the batch, the
	 * others find little left to do */
	for (size_t i = 0; i < n; i++)
		(void)sync_file_range(batch[i]->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	for (size_t i = 0; i < n; i++) {
		struct queue_txn *txn = batch[i];
		txn->status = 0;
		if (fdatasync(txn->fd) < 0) {
			log_error("queue.fsync_failed", "id=%s error=%s",
				txn->env.id, log_quote(strerror(errno)));
			txn->status = -1;
		}
		close(txn->fd);
		txn->fd = -1;
	}
	bool renamed = false;
	for (size_t i = 0; i < n; i++) {
		struct queue_txn *txn = batch[i];
		if (txn->status < 0)
			continue;
		char *path = xasprintf("%s/%s", queue.active_dir, txn->env.id);
		if (rename(txn->tmp_path, path) < 0) {
			log_error("queue.rename_failed", "id=%s error=%s",
				txn->env.id, log_quote(strerror(errno)));
			txn->status = -1;
		} else {
			renamed = true;
			free(txn->tmp_path);
			txn->tmp_path = path;
			path = NULL;
		}
		free(path);
	}
	if (renamed && fsync(queue.active_dir_fd) < 0) {
		/* nothing renamed in this round is known to be durable:
		 * answer 451 for all; the files stay and are delivered after
		 * a restart (a duplicate at worst, never a loss) */
		log_error("queue.fsync_failed", "dir=%s error=%s",
			log_quote(queue.active_dir), log_quote(strerror(errno)));
		for (size_t i = 0; i < n; i++)
			batch[i]->status = -1;
	}
	double took = queue_monotonic_s() - start;
	metric_inc(METRIC_FSYNC_BATCHES);
	metric_observe(METRIC_FSYNC_BATCH_SIZE, (double)n);
	metric_observe(METRIC_FSYNC_SECONDS, took);
	log_debug("queue.commit", "messages=%zu ms=%.3f", n, took * 1000);

	pthread_mutex_lock(&queue.lock);
	for (size_t i = 0; i < n; i++) {
		struct queue_txn *txn = batch[i];
		if (txn->status < 0) {
			if (renamed && strstr(txn->tmp_path, "/active/") == NULL)
				(void)unlink(txn->tmp_path);
			continue;
		}
		struct queue_entry *e = queue_entry_new(&txn->env,
			txn->tmp_path, false);
		queue_link_entry(e);
		queue_push_ready(e);
	}
	pthread_cond_broadcast(&queue.deliver_cond);
	pthread_mutex_unlock(&queue.lock);

	for (size_t i = 0; i < n; i++) {
		queue_txn_answer(batch[i]);
		queue_txn_free(&batch[i]);
	}
}

static void *
queue_committer_main(void *arg ATTR_UNUSED)
{
	struct queue_txn **batch = xcalloc(queue.commit_max_batch,
		sizeof(*batch));
	pthread_mutex_lock(&queue.lock);
	for (;;) {
		while (queue.commit_head == NULL && !queue.stopping)
			pthread_cond_wait(&queue.commit_cond, &queue.lock);
		if (queue.commit_head == NULL)
			break;
		size_t n = 0;
		while (queue.commit_head != NULL && n < queue.commit_max_batch) {
			batch[n++] = queue.commit_head;
			queue.commit_head = queue.commit_head->next;
		}
		if (queue.commit_head == NULL)
			queue.commit_tail = &queue.commit_head;
		pthread_mutex_unlock(&queue.lock);
		queue_commit_batch(batch, n);
		pthread_mutex_lock(&queue.lock);
	}
	queue.committer_alive = false;
	pthread_mutex_unlock(&queue.lock);
	free(batch);
	return NULL;
}

/* ---- delivery workers ---- */

/* queue.retry_min/retry_max/max_lifetime are reloadable: read them from
 * the current settings (SIGHUP), or keep the start-up values when there are
 * none (tests, tools). */
static void
queue_retry_settings(int64_t *min_us_r, int64_t *max_us_r,
	int64_t *lifetime_us_r)
{
	*min_us_r = queue.retry_min_us;
	*max_us_r = queue.retry_max_us;
	*lifetime_us_r = queue.max_lifetime_us;
	struct postierd_settings *set = settings_current_ref();
	if (set == NULL)
		return;
	if (set->queue_retry_min_ms > 0)
		*min_us_r = set->queue_retry_min_ms * 1000LL;
	if (set->queue_retry_max_ms > 0)
		*max_us_r = set->queue_retry_max_ms * 1000LL;
	if (*max_us_r < *min_us_r)
		*max_us_r = *min_us_r;
	if (set->queue_max_lifetime_ms > 0)
		*lifetime_us_r = set->queue_max_lifetime_ms * 1000LL;
	settings_unref(&set);
}

static int64_t
queue_backoff_us(unsigned attempts, int64_t min_us, int64_t max_us)
{
	int64_t d = min_us;
	for (unsigned i = 1; i < attempts && d < max_us; i++)
		d *= 2;
	return d < max_us ? d : max_us;
}

/* After a delivery attempt: retire, bounce or schedule a retry. */
static void
queue_entry_after(struct queue_entry *e, int spool_fd, int64_t now)
{
	struct spool_envelope *env = &e->env;
	size_t done = 0, already = 0, temp = 0, perm = 0;
	for (size_t i = 0; i < env->rcpt_count; i++) {
		switch (e->state[i]) {
		case DELIVERY_RCPT_DONE:
			done++;
			log_info("delivery.ok", "id=%s rcpt=%s maildir=%s",
				env->id, log_quote(env->rcpts[i].address),
				log_quote(env->rcpts[i].maildir));
			if (queue.hook != NULL) {
				queue.hook(env->rcpts[i].address,
					env->rcpts[i].maildir,
					queue.hook_context);
			}
			break;
		case DELIVERY_RCPT_ALREADY:
			already++;
			log_warn("delivery.duplicate", "id=%s rcpt=%s "
				"action=skipped reason=already_in_maildir",
				env->id, log_quote(env->rcpts[i].address));
			break;
		case DELIVERY_RCPT_TEMPFAIL:
			temp++;
			break;
		case DELIVERY_RCPT_PERMFAIL:
			perm++;
			break;
		case DELIVERY_RCPT_PENDING:
			PASSERT(!"delivery left a recipient pending");
		}
	}
	/* DONE and ALREADY are final; mark them so a retry skips them */
	metric_add(METRIC_DELIVERED_MESSAGES, done);
	metric_add(METRIC_DELIVERED_BYTES, done * env->size);
	metric_add(METRIC_DELIVERY_DUPLICATES, already);
	if (done > 0) {
		metric_observe(METRIC_DELIVERY_SECONDS,
			(now - env->time_us) / 1e6);
	}
	int64_t retry_min_us, retry_max_us, lifetime_us;
	queue_retry_settings(&retry_min_us, &retry_max_us, &lifetime_us);
	bool expired = now - env->time_us > lifetime_us;
	bool *failed = xcalloc(env->rcpt_count, sizeof(bool));
	bool bounce = false;
	for (size_t i = 0; i < env->rcpt_count; i++) {
		if (e->state[i] == DELIVERY_RCPT_TEMPFAIL) {
			metric_inc(METRIC_DELIVERY_TEMPFAIL);
			log_warn("delivery.deferred", "id=%s rcpt=%s "
				"attempt=%u error=%s", env->id,
				log_quote(env->rcpts[i].address),
				e->attempts + 1, log_quote(e->error[i]));
			if (expired) {
				e->state[i] = DELIVERY_RCPT_PERMFAIL;
				char *why = xasprintf("queue lifetime exceeded; "
					"last error: %s", e->error[i]);
				free(e->error[i]);
				e->error[i] = why;
			}
		}
		if (e->state[i] == DELIVERY_RCPT_PERMFAIL) {
			metric_inc(METRIC_DELIVERY_PERMFAIL);
			log_error("delivery.failed", "id=%s rcpt=%s error=%s",
				env->id, log_quote(env->rcpts[i].address),
				log_quote(e->error[i]));
			failed[i] = true;
			bounce = true;
		}
	}
	if (bounce && spool_fd >= 0) {
		queue_dsn_send(env, spool_fd, failed, e->error,
			queue_hostname());
	}
	free(failed);

	pthread_mutex_lock(&queue.lock);
	if (temp > 0 && !expired) {
		for (size_t i = 0; i < env->rcpt_count; i++) {
			if (e->state[i] == DELIVERY_RCPT_TEMPFAIL)
				e->state[i] = DELIVERY_RCPT_PENDING;
		}
		e->attempts++;
		e->next_try_us = now + queue_backoff_us(e->attempts,
			retry_min_us, retry_max_us);
		e->qnext = queue.retry_head;
		queue.retry_head = e;
		pthread_mutex_unlock(&queue.lock);
		return;
	}
	queue_unlink_entry(e);
	pthread_mutex_unlock(&queue.lock);
	/* no fsync: if this unlink is lost in a crash the entry is delivered
	 * again, finds its copies and is counted as a duplicate */
	if (unlink(e->path) < 0 && errno != ENOENT) {
		log_error("queue.unlink_failed", "id=%s error=%s", env->id,
			log_quote(strerror(errno)));
	}
	queue_entry_free(&e);
}

/* Moves due retries to the ready list; returns the next due time or 0. */
static int64_t
queue_promote_retries(int64_t now)
{
	int64_t next = 0;
	struct queue_entry **pp = &queue.retry_head;
	while (*pp != NULL) {
		struct queue_entry *e = *pp;
		if (e->next_try_us <= now) {
			*pp = e->qnext;
			queue_push_ready(e);
			continue;
		}
		if (next == 0 || e->next_try_us < next)
			next = e->next_try_us;
		pp = &e->qnext;
	}
	return next;
}

static void
queue_deliver_batch(struct queue_entry **batch, size_t n)
{
	struct delivery_msg *msgs = xcalloc(n, sizeof(*msgs));
	int *fds = xcalloc(n, sizeof(int));
	for (size_t k = 0; k < n; k++) {
		struct queue_entry *e = batch[k];
		fds[k] = open(e->path, O_RDONLY | O_CLOEXEC);
		msgs[k].env = &e->env;
		msgs[k].spool_fd = fds[k];
		msgs[k].check_existing = e->recovered || e->attempts > 0;
		msgs[k].state = e->state;
		msgs[k].error = e->error;
		if (fds[k] < 0) {
			int err = errno;
			for (size_t i = 0; i < e->env.rcpt_count; i++) {
				if (e->state[i] != DELIVERY_RCPT_PENDING)
					continue;
				e->state[i] = DELIVERY_RCPT_TEMPFAIL;
				free(e->error[i]);
				e->error[i] = xasprintf("open %s: %s", e->path,
					strerror(err));
			}
		}
	}
	delivery_run(msgs, n);
	int64_t now = queue_now_us();
	for (size_t k = 0; k < n; k++) {
		/* errors stay with the entry for the next attempt's log */
		msgs[k].error = NULL;
		delivery_msg_clear(&msgs[k]);
		queue_entry_after(batch[k], fds[k], now);
		if (fds[k] >= 0)
			close(fds[k]);
	}
	free(fds);
	free(msgs);
}

static void *
queue_worker_main(void *arg ATTR_UNUSED)
{
	struct queue_entry *batch[QUEUE_DELIVERY_BATCH];
	pthread_mutex_lock(&queue.lock);
	for (;;) {
		int64_t next = queue_promote_retries(queue_now_us());
		if (queue.stopping)
			break;
		if (queue.ready_head == NULL) {
			if (next == 0) {
				pthread_cond_wait(&queue.deliver_cond,
					&queue.lock);
			} else {
				struct timespec ts = {
					.tv_sec = next / 1000000,
					.tv_nsec = (next % 1000000) * 1000,
				};
				pthread_cond_timedwait(&queue.deliver_cond,
					&queue.lock, &ts);
			}
			continue;
		}
		size_t n = 0;
		while (queue.ready_head != NULL && n < N_ELEMENTS(batch)) {
			batch[n++] = queue.ready_head;
			queue.ready_head = queue.ready_head->qnext;
		}
		if (queue.ready_head == NULL)
			queue.ready_tail = &queue.ready_head;
		pthread_mutex_unlock(&queue.lock);
		queue_deliver_batch(batch, n);
		pthread_mutex_lock(&queue.lock);
	}
	queue.workers_alive--;
	pthread_mutex_unlock(&queue.lock);
	return NULL;
}

/* ---- start-up, recovery, shutdown ---- */

static int
queue_mkdir(const char *path, char **error_r)
{
	if (mkdir(path, 0700) == 0) {
		/* make the new directory's name durable */
		char *parent = xstrdup(path);
		char *slash = strrchr(parent, '/');
		if (slash != NULL && slash != parent)
			*slash = '\0';
		int ret = maildir_fsync_dir(parent);
		free(parent);
		if (ret < 0) {
			*error_r = xasprintf("fsync parent of %s: %s", path,
				strerror(errno));
			return -1;
		}
		return 0;
	}
	if (errno == EEXIST)
		return 0;
	*error_r = xasprintf("mkdir %s: %s", path, strerror(errno));
	return -1;
}

/* Files in tmp/ were never acknowledged: remove them. */
static void
queue_clean_tmp(void)
{
	DIR *d = opendir(queue.tmp_dir);
	if (d == NULL)
		return;
	struct dirent *de;
	unsigned removed = 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			removed++;
	}
	closedir(d);
	if (removed > 0) {
		log_info("queue.recovery", "action=removed_unacknowledged "
			"files=%u", removed);
	}
}

static int
queue_entry_time_cmp(const void *a, const void *b)
{
	const struct queue_entry *x = *(struct queue_entry *const *)a;
	const struct queue_entry *y = *(struct queue_entry *const *)b;
	return x->env.time_us < y->env.time_us ? -1 :
		x->env.time_us > y->env.time_us;
}

/* Loads every file of active/ (sorted by arrival) into the ready list. */
static int
queue_recover(char **error_r)
{
	DIR *d = opendir(queue.active_dir);
	if (d == NULL) {
		*error_r = xasprintf("opendir %s: %s", queue.active_dir,
			strerror(errno));
		return -1;
	}
	struct queue_entry **found = NULL;
	size_t count = 0, cap = 0;
	unsigned bad = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char *path = xasprintf("%s/%s", queue.active_dir, de->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		struct spool_envelope env;
		char *error = NULL;
		int ret = fd < 0 ? -1 : spool_read_envelope(fd, &env, &error);
		if (fd < 0)
			error = xasprintf("open: %s", strerror(errno));
		else
			close(fd);
		if (ret > 0 && strcmp(env.id, de->d_name) != 0) {
			error = xasprintf("file name and queue id differ");
			spool_envelope_clear(&env);
			ret = -1;
		}
		if (ret > 0) {
			if (count == cap) {
				cap = cap == 0 ? 64 : cap * 2;
				found = xrealloc(found, cap * sizeof(*found));
			}
			found[count++] = queue_entry_new(&env, path, true);
		} else {
			/* active/ only ever receives complete, fsynced
			 * files: keep anything odd for a human to look at */
			char *dst = xasprintf("%s/corrupt/%s",
				queue.spool_dir, de->d_name);
			log_error("queue.recovery_bad_file", "path=%s "
				"error=%s moved_to=%s", log_quote(path),
				log_quote(ret == 0 ? "no END record" : error),
				log_quote(dst));
			if (rename(path, dst) < 0) {
				log_error("queue.rename_failed", "path=%s "
					"error=%s", log_quote(path),
					log_quote(strerror(errno)));
			}
			free(dst);
			bad++;
		}
		free(error);
		free(path);
	}
	closedir(d);
	if (count > 0)
		qsort(found, count, sizeof(*found), queue_entry_time_cmp);
	pthread_mutex_lock(&queue.lock);
	for (size_t i = 0; i < count; i++) {
		queue_link_entry(found[i]);
		queue_push_ready(found[i]);
	}
	pthread_mutex_unlock(&queue.lock);
	free(found);
	log_info("queue.recovery", "messages=%zu bad_files=%u", count, bad);
	return 0;
}

static char *
queue_default_hostname(void)
{
	char host[256];
	if (gethostname(host, sizeof(host)) < 0)
		return xstrdup("localhost");
	host[sizeof(host) - 1] = '\0';
	return xstrdup(host);
}

static void queue_free_all(void);

int
queue_init(const struct postierd_settings *set, char **error_r)
{
	PASSERT(!queue.started);
	const char *data_dir = set->data_dir != NULL && set->data_dir[0] != '\0'
		? set->data_dir : "/var/lib/postier";
	queue.data_dir = xstrdup(data_dir);
	queue.spool_dir = xasprintf("%s/queue", data_dir);
	queue.tmp_dir = xasprintf("%s/tmp", queue.spool_dir);
	queue.active_dir = xasprintf("%s/active", queue.spool_dir);
	queue.hostname = set->hostname != NULL && set->hostname[0] != '\0' ?
		xstrdup(set->hostname) : queue_default_hostname();
	queue.commit_max_batch = set->queue_commit_max_batch > 0 ?
		(size_t)set->queue_commit_max_batch : 256;
	queue.delivery_workers = set->queue_delivery_workers > 0 ?
		(unsigned)set->queue_delivery_workers : 2;
	queue.retry_min_us = (set->queue_retry_min_ms > 0 ?
		set->queue_retry_min_ms : 60000) * 1000LL;
	queue.retry_max_us = (set->queue_retry_max_ms > 0 ?
		set->queue_retry_max_ms : 3600000) * 1000LL;
	if (queue.retry_max_us < queue.retry_min_us)
		queue.retry_max_us = queue.retry_min_us;
	queue.max_lifetime_us = (set->queue_max_lifetime_ms > 0 ?
		set->queue_max_lifetime_ms : 5LL * 86400000) * 1000LL;
	atomic_init(&queue.seq, 0);
	queue.commit_head = NULL;
	queue.commit_tail = &queue.commit_head;
	queue.ready_head = NULL;
	queue.ready_tail = &queue.ready_head;
	queue.retry_head = NULL;
	queue.all_head = queue.all_tail = NULL;
	queue.count = 0;
	queue.stopping = false;

	char *corrupt = xasprintf("%s/corrupt", queue.spool_dir);
	int ret = 0;
	if (queue_mkdir(data_dir, error_r) < 0 ||
	    queue_mkdir(queue.spool_dir, error_r) < 0 ||
	    queue_mkdir(queue.tmp_dir, error_r) < 0 ||
	    queue_mkdir(queue.active_dir, error_r) < 0 ||
	    queue_mkdir(corrupt, error_r) < 0)
		ret = -1;
	free(corrupt);
	if (ret == 0) {
		queue.active_dir_fd = open(queue.active_dir,
			O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (queue.active_dir_fd < 0) {
			*error_r = xasprintf("open %s: %s", queue.active_dir,
				strerror(errno));
			ret = -1;
		}
	}
	if (ret == 0) {
		queue_clean_tmp();
		ret = queue_recover(error_r);
	}
	if (ret < 0) {
		queue_free_all();
		return -1;
	}
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_cond_init(&queue.commit_cond, &ca);
	pthread_cond_init(&queue.deliver_cond, &ca);
	pthread_condattr_destroy(&ca);

	queue.committer_alive = true;
	if (pthread_create(&queue.committer, NULL, queue_committer_main,
	    NULL) != 0)
		log_fatal("queue: cannot start the committer thread");
	queue.workers = xcalloc(queue.delivery_workers, sizeof(pthread_t));
	queue.workers_alive = queue.delivery_workers;
	for (unsigned i = 0; i < queue.delivery_workers; i++) {
		if (pthread_create(&queue.workers[i], NULL, queue_worker_main,
		    NULL) != 0)
			log_fatal("queue: cannot start delivery threads");
	}
	queue.started = true;
	log_info("queue.started", "dir=%s commit_max_batch=%zu "
		"delivery_workers=%u recovered=%lld", log_quote(queue.spool_dir),
		queue.commit_max_batch, queue.delivery_workers, queue.count);
	return 0;
}

static void
queue_free_all(void)
{
	struct queue_entry *e = queue.all_head;
	while (e != NULL) {
		struct queue_entry *next = e->next;
		queue_entry_free(&e);
		e = next;
	}
	queue.all_head = queue.all_tail = NULL;
	queue.ready_head = NULL;
	queue.ready_tail = &queue.ready_head;
	queue.retry_head = NULL;
	queue.count = 0;
	if (queue.active_dir_fd >= 0)
		close(queue.active_dir_fd);
	queue.active_dir_fd = -1;
	free(queue.data_dir);
	free(queue.spool_dir);
	free(queue.tmp_dir);
	free(queue.active_dir);
	free(queue.hostname);
	free(queue.workers);
	queue.data_dir = queue.spool_dir = queue.tmp_dir = NULL;
	queue.active_dir = queue.hostname = NULL;
	queue.workers = NULL;
}

void
queue_deinit(void)
{
	if (!queue.started)
		return;
	/* the committer drains every commit already handed to it (sessions
	 * wait for those answers); workers finish the batch in hand */
	pthread_mutex_lock(&queue.lock);
	queue.stopping = true;
	pthread_cond_broadcast(&queue.commit_cond);
	pthread_cond_broadcast(&queue.deliver_cond);
	pthread_mutex_unlock(&queue.lock);
	pthread_join(queue.committer, NULL);
	for (unsigned i = 0; i < queue.delivery_workers; i++)
		pthread_join(queue.workers[i], NULL);
	pthread_cond_destroy(&queue.commit_cond);
	pthread_cond_destroy(&queue.deliver_cond);
	queue.started = false;
	log_info("queue.stopped", "queued=%lld", queue.count);
	queue_free_all();
}

void
queue_stats(long long *messages_r, double *oldest_age_s_r)
{
	pthread_mutex_lock(&queue.lock);
	*messages_r = queue.count;
	int64_t oldest = queue.all_head != NULL ? queue.all_head->env.time_us :
		0;
	pthread_mutex_unlock(&queue.lock);
	double age = 0;
	if (oldest != 0) {
		age = (queue_now_us() - oldest) / 1e6;
		if (age < 0)
			age = 0;
	}
	*oldest_age_s_r = age;
	metric_gauge_set(METRIC_QUEUE_OLDEST_AGE, (int64_t)age);
}

bool
queue_is_healthy(char **reason_r)
{
	if (!queue.started) {
		*reason_r = xstrdup("queue not running");
		return false;
	}
	pthread_mutex_lock(&queue.lock);
	bool alive = queue.committer_alive &&
		queue.workers_alive == queue.delivery_workers;
	pthread_mutex_unlock(&queue.lock);
	if (!alive) {
		*reason_r = xstrdup("queue threads stopped");
		return false;
	}
	if (access(queue.tmp_dir, W_OK) < 0 ||
	    access(queue.active_dir, W_OK) < 0) {
		*reason_r = xasprintf("spool not writable: %s",
			strerror(errno));
		return false;
	}
	return true;
}

void
queue_set_delivery_hook(void (*hook)(const char *address,
	const char *maildir, void *context), void *context)
{
	pthread_mutex_lock(&queue.lock);
	queue.hook = hook;
	queue.hook_context = context;
	pthread_mutex_unlock(&queue.lock);
}
