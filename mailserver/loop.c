/* loop.c: messages into a loop thread (loop_post) and the worker pool.
 *
 * A post is a node on the loop's mutex-protected list plus event_active() on
 * the loop's post event (libevent wakes the loop across threads). Worker jobs
 * carry their own node, so a job costs one allocation from submit to done.
 * Results find their connection by id on the owning loop, never by pointer. */
#include "postier.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "core/log.h"
#include "core/xmalloc.h"
#include "conn.h"
#include "loop.h"
#include "server.h"

struct loop_msg {
	struct loop_msg *next;
	void (*fn)(void *arg);
	void *arg;
	bool free_after; /* a loop_post() node; worker jobs free themselves */
};

static void
loop_post_cb(evutil_socket_t fd ATTR_UNUSED, short what ATTR_UNUSED,
	void *context)
{
	loop_run_posts(context);
}

void
loop_init(struct loop *loop, struct event_base *base, int index)
{
	memset(loop, 0, sizeof(*loop));
	loop->index = index;
	loop->base = base;
	pthread_mutex_init(&loop->post_lock, NULL);
	loop->post_ev = event_new(base, -1, 0, loop_post_cb, loop);
	PASSERT(loop->post_ev != NULL);
}

void
loop_deinit(struct loop *loop)
{
	struct loop_msg *m = loop->post_head, *next;
	for (; m != NULL; m = next) {
		next = m->next;
		free(m);
	}
	loop->post_head = loop->post_tail = NULL;
	if (loop->post_ev != NULL)
		event_free(loop->post_ev);
	loop->post_ev = NULL;
	free(loop->conn_table);
	loop->conn_table = NULL;
	pthread_mutex_destroy(&loop->post_lock);
}

static void
loop_post_msg(struct loop *loop, struct loop_msg *m)
{
	m->next = NULL;
	pthread_mutex_lock(&loop->post_lock);
	bool was_empty = loop->post_head == NULL;
	if (loop->post_tail != NULL)
		loop->post_tail->next = m;
	else
		loop->post_head = m;
	loop->post_tail = m;
	pthread_mutex_unlock(&loop->post_lock);
	if (was_empty)
		event_active(loop->post_ev, EV_TIMEOUT, 1);
}

void
loop_post(struct loop *loop, void (*fn)(void *arg), void *arg)
{
	struct loop_msg *m = xmalloc(sizeof(*m));
	m->fn = fn;
	m->arg = arg;
	m->free_after = true;
	loop_post_msg(loop, m);
}

void
loop_run_posts(struct loop *loop)
{
	pthread_mutex_lock(&loop->post_lock);
	struct loop_msg *m = loop->post_head;
	loop->post_head = loop->post_tail = NULL;
	pthread_mutex_unlock(&loop->post_lock);

	while (m != NULL) {
		struct loop_msg *next = m->next;
		void (*fn)(void *) = m->fn;
		void *arg = m->arg;
		bool free_after = m->free_after;
		/* a node may be a worker job that fn frees: read it first */
		if (free_after)
			free(m);
		fn(arg);
		m = next;
	}
}

/* --- the worker pool --- */

struct worker_job {
	struct loop_msg msg; /* first: posted back to the loop as is */
	struct worker_job *next;
	void (*work)(void *arg);
	void (*done_conn)(struct conn *c, void *arg);
	void (*done_loop)(void *arg);
	void *arg;
	struct loop *loop;
	uint64_t conn_id;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct worker_job *head, *tail;
	pthread_t *threads;
	int count;
	bool stopping;
} worker_pool = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

static void
worker_job_done_on_loop(void *arg)
{
	struct worker_job *job = arg;
	if (job->done_conn != NULL)
		job->done_conn(loop_find_conn(job->loop, job->conn_id), job->arg);
	else if (job->done_loop != NULL)
		job->done_loop(job->arg);
	free(job);
}

static void
worker_run(struct worker_job *job)
{
	job->work(job->arg);
	if (job->loop == NULL) {
		if (job->done_loop != NULL)
			job->done_loop(job->arg);
		free(job);
		return;
	}
	job->msg.fn = worker_job_done_on_loop;
	job->msg.arg = job;
	job->msg.free_after = false;
	loop_post_msg(job->loop, &job->msg);
}

static void *
worker_thread(void *arg ATTR_UNUSED)
{
	pthread_mutex_lock(&worker_pool.lock);
	for (;;) {
		struct worker_job *job = worker_pool.head;
		if (job == NULL) {
			if (worker_pool.stopping)
				break;
			pthread_cond_wait(&worker_pool.cond, &worker_pool.lock);
			continue;
		}
		worker_pool.head = job->next;
		if (worker_pool.head == NULL)
			worker_pool.tail = NULL;
		pthread_mutex_unlock(&worker_pool.lock);
		worker_run(job);
		pthread_mutex_lock(&worker_pool.lock);
	}
	pthread_mutex_unlock(&worker_pool.lock);
	return NULL;
}

static void
worker_enqueue(struct worker_job *job)
{
	job->next = NULL;
	pthread_mutex_lock(&worker_pool.lock);
	if (worker_pool.count == 0) {
		/* no pool (tools, unit tests): run here, synchronously */
		pthread_mutex_unlock(&worker_pool.lock);
		worker_run(job);
		return;
	}
	if (worker_pool.tail != NULL)
		worker_pool.tail->next = job;
	else
		worker_pool.head = job;
	worker_pool.tail = job;
	pthread_cond_signal(&worker_pool.cond);
	pthread_mutex_unlock(&worker_pool.lock);
}

void
worker_submit(struct conn *c, void (*work)(void *arg),
	void (*done)(struct conn *c, void *arg), void *arg)
{
	struct worker_job *job = xcalloc(1, sizeof(*job));
	job->work = work;
	job->done_conn = done;
	job->arg = arg;
	job->loop = conn_loop(c);
	job->conn_id = conn_id(c);
	worker_enqueue(job);
}

void
worker_submit_loop(struct loop *loop, void (*work)(void *arg),
	void (*done)(void *arg), void *arg)
{
	struct worker_job *job = xcalloc(1, sizeof(*job));
	job->work = work;
	job->done_loop = done;
	job->arg = arg;
	job->loop = loop;
	worker_enqueue(job);
}

void
worker_pool_start(int threads)
{
	PASSERT(threads > 0);
	worker_pool.threads = xcalloc((size_t)threads, sizeof(pthread_t));
	worker_pool.stopping = false;
	for (int i = 0; i < threads; i++) {
		if (pthread_create(&worker_pool.threads[i], NULL, worker_thread,
			NULL) != 0)
			log_fatal("cannot start worker thread");
	}
	pthread_mutex_lock(&worker_pool.lock);
	worker_pool.count = threads;
	pthread_mutex_unlock(&worker_pool.lock);
}

void
worker_pool_stop(void)
{
	pthread_mutex_lock(&worker_pool.lock);
	int count = worker_pool.count;
	worker_pool.stopping = true;
	pthread_cond_broadcast(&worker_pool.cond);
	pthread_mutex_unlock(&worker_pool.lock);
	for (int i = 0; i < count; i++)
		pthread_join(worker_pool.threads[i], NULL);
	pthread_mutex_lock(&worker_pool.lock);
	worker_pool.count = 0;
	pthread_mutex_unlock(&worker_pool.lock);
	free(worker_pool.threads);
	worker_pool.threads = NULL;
}
