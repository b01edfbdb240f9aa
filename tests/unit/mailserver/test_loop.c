/* test_loop.c: loop_post() across threads and the worker pool: every job's
 * work runs on a worker, its done on the loop thread, posts from one thread
 * arrive in order, and stopping the pool finishes the queued jobs. */
#include "postier.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "loop.h"
#include "server.h"

#define PRODUCERS 4
#define POSTS_PER_PRODUCER 2000
#define JOBS 1000

static struct {
	struct loop loop;
	pthread_t loop_thread;
	atomic_int work_done;
	atomic_int work_on_loop_thread;
	int done_count;
	int done_off_loop;
	int expected_done;
	int next_seq[PRODUCERS];
	int out_of_order;
	int posts_seen;
} t;

static void
stop_if_finished(void)
{
	if (t.done_count == t.expected_done &&
		t.posts_seen == PRODUCERS * POSTS_PER_PRODUCER)
		event_base_loopbreak(t.loop.base);
}

struct job {
	int n;
};

static void
job_work(void *arg)
{
	struct job *j = arg;
	if (pthread_equal(pthread_self(), t.loop_thread))
		atomic_fetch_add(&t.work_on_loop_thread, 1);
	j->n *= 2;
	atomic_fetch_add(&t.work_done, 1);
}

static void
job_done(void *arg)
{
	struct job *j = arg;
	if (!pthread_equal(pthread_self(), t.loop_thread))
		t.done_off_loop++;
	assert_int_equal(j->n % 2, 0);
	free(j);
	t.done_count++;
	stop_if_finished();
}

struct post {
	int producer;
	int seq;
};

static void
post_cb(void *arg)
{
	struct post *p = arg;
	if (!pthread_equal(pthread_self(), t.loop_thread))
		t.done_off_loop++;
	if (p->seq != t.next_seq[p->producer])
		t.out_of_order++;
	t.next_seq[p->producer] = p->seq + 1;
	t.posts_seen++;
	free(p);
	stop_if_finished();
}

static void *
producer(void *arg)
{
	int id = (int)(intptr_t)arg;
	for (int i = 0; i < POSTS_PER_PRODUCER; i++) {
		struct post *p = malloc(sizeof(*p));
		p->producer = id;
		p->seq = i;
		loop_post(&t.loop, post_cb, p);
		if (i % 200 == 0) {
			struct job *j = malloc(sizeof(*j));
			j->n = i + 1;
			worker_submit_loop(&t.loop, job_work, job_done, j);
		}
	}
	return NULL;
}

static void
test_posts_and_jobs(void **state ATTR_UNUSED)
{
	memset(&t, 0, sizeof(t));
	struct event_base *base = event_base_new();
	assert_non_null(base);
	loop_init(&t.loop, base, 0);
	t.loop_thread = pthread_self();
	worker_pool_start(3);

	t.expected_done = JOBS + PRODUCERS * (POSTS_PER_PRODUCER / 200);
	for (int i = 0; i < JOBS; i++) {
		struct job *j = malloc(sizeof(*j));
		j->n = i + 1;
		worker_submit_loop(&t.loop, job_work, job_done, j);
	}
	pthread_t threads[PRODUCERS];
	for (int i = 0; i < PRODUCERS; i++)
		pthread_create(&threads[i], NULL, producer, (void *)(intptr_t)i);

	/* a safety net: a hung test fails instead of hanging */
	struct timeval limit = { 60, 0 };
	event_base_loopexit(base, &limit);
	event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY);
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(threads[i], NULL);

	assert_int_equal(t.done_count, t.expected_done);
	assert_int_equal(atomic_load(&t.work_done), t.expected_done);
	assert_int_equal(atomic_load(&t.work_on_loop_thread), 0);
	assert_int_equal(t.done_off_loop, 0);
	assert_int_equal(t.posts_seen, PRODUCERS * POSTS_PER_PRODUCER);
	assert_int_equal(t.out_of_order, 0);

	worker_pool_stop();
	loop_deinit(&t.loop);
	event_base_free(base);
}

static atomic_int slow_work;

static void
slow_job(void *arg ATTR_UNUSED)
{
	struct timespec ts = { 0, 1000000 };
	nanosleep(&ts, NULL);
	atomic_fetch_add(&slow_work, 1);
}

static void
slow_done(void *arg)
{
	(*(int *)arg)++;
}

/* worker_pool_stop() runs what is queued; the results wait on the loop. */
static void
test_stop_finishes_queued_jobs(void **state ATTR_UNUSED)
{
	struct event_base *base = event_base_new();
	struct loop loop;
	loop_init(&loop, base, 0);
	worker_pool_start(2);
	int done = 0;
	for (int i = 0; i < 50; i++)
		worker_submit_loop(&loop, slow_job, slow_done, &done);
	worker_pool_stop();
	assert_int_equal(atomic_load(&slow_work), 50);
	assert_int_equal(done, 0);
	loop_run_posts(&loop);
	assert_int_equal(done, 50);

	/* without a pool, work runs at once; done still comes via the loop */
	worker_submit_loop(&loop, slow_job, slow_done, &done);
	assert_int_equal(atomic_load(&slow_work), 51);
	loop_run_posts(&loop);
	assert_int_equal(done, 51);
	/* NULL loop: done runs right after work */
	worker_submit_loop(NULL, slow_job, slow_done, &done);
	assert_int_equal(done, 52);

	/* posts never run are freed by loop_deinit */
	worker_submit_loop(&loop, slow_job, slow_done, &done);
	loop_deinit(&loop);
	event_base_free(base);
}

int
main(void)
{
	evthread_use_pthreads();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_posts_and_jobs),
		cmocka_unit_test(test_stop_finishes_queued_jobs),
	};
	int ret = cmocka_run_group_tests(tests, NULL, NULL);
	libevent_global_shutdown();
	return ret;
}
