/* server.h: the runtime of postierd behind conn.h and loop.h: listeners,
 * loop threads, the worker pool, draining and reloading.
 *
 * main.c drives it: server_bind() (as root, before dropping privileges),
 * server_start(), then on signals server_reload(), server_drain() and
 * server_stop(). Nothing here is for protocol sessions: they see conn.h and
 * loop.h only. */
#ifndef MAILSERVER_SERVER_H
#define MAILSERVER_SERVER_H

#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>
#include "postier.h"
#include "conn.h"

struct event_base;
struct event;
struct evconnlistener;
struct postierd_settings;
struct loop_msg;

/* One event-loop thread. Owned by server.c; the id table by loop.c. */
struct loop {
	int index;
	struct event_base *base;
	pthread_t thread;
	bool running;

	/* loop_post(): messages from other threads */
	pthread_mutex_t post_lock;
	struct loop_msg *post_head, *post_tail;
	struct event *post_ev;

	struct evconnlistener *listeners[CONN_ROLE_COUNT];

	/* connections of this loop: id table and a list for drain/stop */
	struct conn **conn_table;
	size_t conn_table_size; /* power of two */
	size_t conn_count;
	struct conn *conn_list;
};

/* Resolves and binds every configured listener, N sockets per role
 * (SO_REUSEPORT), before privileges are dropped. Returns 0 or -1 with
 * *error_r (heap). Blocks. */
int server_bind(const struct postierd_settings *set, char **error_r);
/* Creates the loops and the worker pool and starts their threads. */
int server_start(const struct postierd_settings *set, char **error_r);
/* SIGTERM, phase 1: close the listeners, ask sessions to finish. */
void server_drain(void);
bool server_is_draining(void);
/* Phase 2 (drain deadline or all sessions gone): close what is left. */
void server_close_all(void);
/* Stops loops and workers and frees them (after queue_deinit()). */
void server_stop(void);

/* Open connections, whole server (all loops). Thread-safe. */
long long server_conn_count(void);
void server_conn_count_add(int delta);
/* Open sessions of a protocol family ("smtp", "pop3", "imap"). */
long long server_session_count(const char *proto);
/* Listeners the configuration asked for that are open (admin, /health). */
bool server_listeners_ok(char **reason_r);
/* Seconds since server_start(). */
double server_uptime_s(void);
int server_thread_count(void);
/* Which roles are served (configured and implemented), for /status. */
bool server_role_open(enum conn_role role);

/* loop.c: posts and the worker pool. */
void loop_init(struct loop *loop, struct event_base *base, int index);
/* Frees what loop_init() made and drops posts never run. */
void loop_deinit(struct loop *loop);
/* Runs queued loop_post() messages (the loop's post event). */
void loop_run_posts(struct loop *loop);
void worker_pool_start(int threads);
/* Runs the queued jobs, then joins the threads. */
void worker_pool_stop(void);

/* conn.c: the runtime side of a connection, and each loop's id table. */
void loop_add_conn(struct loop *loop, struct conn *c);
void loop_remove_conn(struct loop *loop, struct conn *c);
/* Takes ownership of fd, accepted on a listener of role; checks the limits,
 * starts TLS or the session. Loop thread. */
void conn_accepted(struct loop *loop, int fd, enum conn_role role,
	const struct sockaddr *sa, int salen);
/* Drain started: sessions idle more than a second are timed out. */
void conn_drain_notify(struct conn *c);
/* Closes now (on_closed with reason); for server_close_all(). */
void conn_abort(struct conn *c, const char *reason);
struct conn *conn_list_next(const struct conn *c);
/* Seeds connection ids (the high 32 bits), once at start-up. */
void conn_ids_init(uint64_t seed);

/* guard.c: limits at accept, for conn.c. */
enum guard_refusal {
	GUARD_OK,
	GUARD_REFUSE_GLOBAL,
	GUARD_REFUSE_PER_IP,
	GUARD_REFUSE_BANNED,
};
/* Counts a new connection from ip unless a limit refuses it. */
enum guard_refusal guard_conn_open(const char *ip);
/* The connection counted by guard_conn_open() closed. */
void guard_conn_close(const char *ip);
/* Addresses banned now (for the gauge). */
long long guard_banned_count(void);
void guard_deinit(void);

#endif
