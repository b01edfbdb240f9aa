/* loop.h: event-loop threads and the worker pool.
 *
 * postierd runs N loop threads (one event_base each, listeners shared with
 * SO_REUSEPORT) and a small pool of worker threads for anything that may block
 * (fsync, delivery, password hashing, directory back-ends). Loops never block.
 */
#ifndef MAILSERVER_LOOP_H
#define MAILSERVER_LOOP_H

#include <stdint.h>
#include "postier.h"

struct conn;
struct loop;

/* Runs fn(arg) on the loop's thread, soon. Callable from any thread. */
void loop_post(struct loop *loop, void (*fn)(void *arg), void *arg);

/* The connection with this id on this loop, or NULL if it has closed.
 * Loop thread only. */
struct conn *loop_find_conn(struct loop *loop, uint64_t conn_id);

/* Runs work(arg) on a worker thread, then done(c, arg) on the loop thread
 * that owns c. If c closed meanwhile, done(NULL, arg) is called instead (on
 * that loop) so arg can be freed. The connection's input is not paused
 * automatically: sessions pause themselves when ordering matters. */
void worker_submit(struct conn *c, void (*work)(void *arg),
	void (*done)(struct conn *c, void *arg), void *arg);

/* The same without a connection (start-up, timers): work then done on the
 * given loop (NULL: done runs on the worker thread right after work). */
void worker_submit_loop(struct loop *loop, void (*work)(void *arg),
	void (*done)(void *arg), void *arg);

#endif
