/* server.c: listeners and loop threads.
 *
 * Each configured role gets one listening socket per loop, all bound to the
 * same address with SO_REUSEPORT so the kernel spreads connections over the
 * loops without a shared accept lock. Sockets are bound before privileges
 * are dropped; the loops own them afterwards. A role whose protocol is not
 * linked in yet (no session start function) is not opened. */
#include "postier.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>

#include "core/log.h"
#include "core/metric.h"
#include "core/xmalloc.h"
#include "conn.h"
#include "loop.h"
#include "server.h"
#include "settings.h"
#include "tls.h"

#define SERVER_LISTEN_BACKLOG 1024
/* accept() failed (no descriptors left): wait this long before retrying */
#define SERVER_ACCEPT_PAUSE_MS 100

struct server_listener {
	enum conn_role role;
	char *address;      /* as configured, for logs */
	int *fds;           /* one per loop */
};

static struct {
	int nloops;
	struct loop *loops;
	struct server_listener listeners[CONN_ROLE_COUNT];
	bool wanted[CONN_ROLE_COUNT];  /* configured */
	bool opened[CONN_ROLE_COUNT];  /* listening */
	atomic_bool draining;
	atomic_llong conn_count;
	struct timespec start;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int pending_acks;   /* loops yet to run a broadcast message */
} server = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

static const char *
server_listen_value(const struct postierd_settings *set, enum conn_role role)
{
	switch (role) {
	case CONN_ROLE_SMTP: return set->listen_smtp;
	case CONN_ROLE_SUBMISSION: return set->listen_submission;
	case CONN_ROLE_SUBMISSIONS: return set->listen_submissions;
	case CONN_ROLE_POP3: return set->listen_pop3;
	case CONN_ROLE_POP3S: return set->listen_pop3s;
	case CONN_ROLE_IMAP: return set->listen_imap;
	case CONN_ROLE_IMAPS: return set->listen_imaps;
	case CONN_ROLE_COUNT: break;
	}
	return NULL;
}

static int
server_thread_wanted(const struct postierd_settings *set)
{
	if (set->threads > 0)
		return (int)set->threads;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)(n > 64 ? 64 : n) : 1;
}

/* Binds one listening socket; port_r gets the port actually bound. */
static int
server_bind_one(const struct addrinfo *ai, int *port_r, char **error_r)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0) {
		*error_r = xasprintf("socket: %s", strerror(errno));
		return -1;
	}
	int one = 1;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) {
		*error_r = xasprintf("SO_REUSEPORT: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (ai->ai_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
		listen(fd, SERVER_LISTEN_BACKLOG) < 0) {
		*error_r = xstrdup(strerror(errno));
		close(fd);
		return -1;
	}
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET)
			*port_r = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		else
			*port_r = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	return fd;
}

static int
server_bind_role(const struct postierd_settings *set, enum conn_role role,
	const char *value, int nloops, char **error_r)
{
	char *host;
	int port;
	if (settings_parse_listen(value, &host, &port) < 0) {
		*error_r = xasprintf("listen.%s: bad address %s",
			conn_role_name(role), value);
		return -1;
	}
	struct server_listener *l = &server.listeners[role];
	l->role = role;
	l->address = xstrdup(value);
	l->fds = xcalloc((size_t)nloops, sizeof(int));
	for (int i = 0; i < nloops; i++)
		l->fds[i] = -1;

	for (int i = 0; i < nloops; i++) {
		struct addrinfo hints = {
			.ai_socktype = SOCK_STREAM,
			.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
		}, *ai;
		char portstr[16];
		snprintf(portstr, sizeof(portstr), "%d", port);
		int gai = getaddrinfo(host, portstr, &hints, &ai);
		if (gai != 0) {
			*error_r = xasprintf("listen.%s: %s: %s", conn_role_name(role),
				host, gai_strerror(gai));
			free(host);
			return -1;
		}
		char *err = NULL;
		int bound_port = port;
		int fd = server_bind_one(ai, &bound_port, &err);
		freeaddrinfo(ai);
		if (fd < 0) {
			*error_r = xasprintf("listen.%s: cannot listen on %s: %s",
				conn_role_name(role), value, err);
			free(err);
			free(host);
			return -1;
		}
		/* port 0: the kernel chose; every loop's socket takes the same */
		port = bound_port;
		l->fds[i] = fd;
	}
	log_info("server.listen", "role=%s address=%s port=%d sockets=%d",
		conn_role_name(role), log_quote(host), port, nloops);
	free(host);
	(void)set;
	return 0;
}

int
server_bind(const struct postierd_settings *set, char **error_r)
{
	server.nloops = server_thread_wanted(set);
	for (int r = 0; r < CONN_ROLE_COUNT; r++) {
		enum conn_role role = (enum conn_role)r;
		const char *value = server_listen_value(set, role);
		if (value == NULL)
			continue;
		server.wanted[role] = true;
		bool implicit = role == CONN_ROLE_SUBMISSIONS ||
			role == CONN_ROLE_POP3S || role == CONN_ROLE_IMAPS;
		if (implicit && set->tls_cert_file == NULL) {
			log_warn("server.role_unavailable", "role=%s reason=%s",
				conn_role_name(role), "no_tls_certificate");
			server.wanted[role] = false;
			continue;
		}
		if (server_bind_role(set, role, value, server.nloops, error_r) < 0)
			return -1;
	}
	return 0;
}

static void
server_accept_cb(struct evconnlistener *listener ATTR_UNUSED,
	evutil_socket_t fd, struct sockaddr *sa, int salen, void *context)
{
	struct loop *loop = context;
	/* the role is stored in the listener's index in loop->listeners */
	for (int r = 0; r < CONN_ROLE_COUNT; r++) {
		if (loop->listeners[r] == listener) {
			conn_accepted(loop, fd, (enum conn_role)r, sa, salen);
			return;
		}
	}
	close(fd);
}

static void
server_accept_resume(evutil_socket_t fd ATTR_UNUSED, short what ATTR_UNUSED,
	void *context)
{
	struct loop *loop = context;
	for (int r = 0; r < CONN_ROLE_COUNT; r++) {
		if (loop->listeners[r] != NULL)
			evconnlistener_enable(loop->listeners[r]);
	}
}

static void
server_accept_error_cb(struct evconnlistener *listener, void *context)
{
	struct loop *loop = context;
	int err = EVUTIL_SOCKET_ERROR();
	log_error("server.accept_error", "loop=%d error=%s", loop->index,
		log_quote(evutil_socket_error_to_string(err)));
	/* Out of descriptors (EMFILE, ENFILE) or memory: the pending
	 * connection stays in the backlog and the socket stays readable, so
	 * retrying at once would spin. Pause accepting on this loop. */
	evconnlistener_disable(listener);
	struct timeval tv = { 0, SERVER_ACCEPT_PAUSE_MS * 1000 };
	event_base_once(loop->base, -1, EV_TIMEOUT, server_accept_resume, loop,
		&tv);
}

static void *
server_loop_thread(void *arg)
{
	struct loop *loop = arg;
	event_base_loop(loop->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

int
server_start(const struct postierd_settings *set, char **error_r)
{
	clock_gettime(CLOCK_MONOTONIC, &server.start);
	conn_ids_init(((uint64_t)time(NULL) << 8) ^ (uint64_t)getpid());
	if (server.nloops == 0)
		server.nloops = server_thread_wanted(set);
	server.loops = xcalloc((size_t)server.nloops, sizeof(struct loop));
	for (int i = 0; i < server.nloops; i++) {
		struct event_base *base = event_base_new();
		if (base == NULL) {
			*error_r = xstrdup("event_base_new failed");
			return -1;
		}
		struct loop *loop = &server.loops[i];
		loop_init(loop, base, i);
		for (int r = 0; r < CONN_ROLE_COUNT; r++) {
			struct server_listener *l = &server.listeners[r];
			if (l->fds == NULL)
				continue;
			loop->listeners[r] = evconnlistener_new(base, server_accept_cb,
				loop, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0,
				l->fds[i]);
			if (loop->listeners[r] == NULL) {
				*error_r = xasprintf("evconnlistener_new failed for %s",
					conn_role_name((enum conn_role)r));
				return -1;
			}
			l->fds[i] = -1; /* the listener owns it */
			evconnlistener_set_error_cb(loop->listeners[r],
				server_accept_error_cb);
			server.opened[r] = true;
		}
	}
	worker_pool_start((int)set->directory_workers);
	metric_gauge_set(METRIC_THREADS, server.nloops);
	for (int i = 0; i < server.nloops; i++) {
		struct loop *loop = &server.loops[i];
		if (pthread_create(&loop->thread, NULL, server_loop_thread,
			loop) != 0) {
			*error_r = xasprintf("pthread_create: %s", strerror(errno));
			return -1;
		}
		loop->running = true;
	}
	log_info("server.start", "threads=%d workers=%lld", server.nloops,
		set->directory_workers);
	return 0;
}

/* --- messages to every loop --- */

static void
server_ack(void)
{
	pthread_mutex_lock(&server.lock);
	server.pending_acks--;
	pthread_cond_broadcast(&server.cond);
	pthread_mutex_unlock(&server.lock);
}

/* Runs fn(loop) on every loop thread and waits until all have run it. */
static void
server_broadcast(void (*fn)(void *loop))
{
	pthread_mutex_lock(&server.lock);
	server.pending_acks = 0;
	for (int i = 0; i < server.nloops; i++) {
		if (server.loops[i].running)
			server.pending_acks++;
	}
	pthread_mutex_unlock(&server.lock);
	for (int i = 0; i < server.nloops; i++) {
		if (server.loops[i].running)
			loop_post(&server.loops[i], fn, &server.loops[i]);
	}
	pthread_mutex_lock(&server.lock);
	while (server.pending_acks > 0)
		pthread_cond_wait(&server.cond, &server.lock);
	pthread_mutex_unlock(&server.lock);
}

static void
server_drain_loop(void *arg)
{
	struct loop *loop = arg;
	for (int r = 0; r < CONN_ROLE_COUNT; r++) {
		if (loop->listeners[r] != NULL) {
			evconnlistener_free(loop->listeners[r]);
			loop->listeners[r] = NULL;
		}
	}
	for (struct conn *c = loop->conn_list; c != NULL; c = conn_list_next(c))
		conn_drain_notify(c);
	server_ack();
}

void
server_drain(void)
{
	if (atomic_exchange(&server.draining, true))
		return;
	server_broadcast(server_drain_loop);
	for (int r = 0; r < CONN_ROLE_COUNT; r++)
		server.opened[r] = false;
	/* after the listeners are closed: nothing new is accepted from here */
	log_info("server.drain", "connections=%lld", server_conn_count());
}

bool
server_is_draining(void)
{
	return atomic_load(&server.draining);
}

static void
server_close_loop(void *arg)
{
	struct loop *loop = arg;
	while (loop->conn_list != NULL)
		conn_abort(loop->conn_list, "shutdown");
	server_ack();
}

void
server_close_all(void)
{
	long long left = server_conn_count();
	if (left > 0)
		log_info("server.close_all", "connections=%lld", left);
	server_broadcast(server_close_loop);
}

static void
server_exit_loop(void *arg)
{
	struct loop *loop = arg;
	event_base_loopbreak(loop->base);
}

void
server_stop(void)
{
	server_close_all();
	worker_pool_stop();
	for (int i = 0; i < server.nloops; i++) {
		struct loop *loop = &server.loops[i];
		if (!loop->running)
			continue;
		/* runs after every post queued before it */
		loop_post(loop, server_exit_loop, loop);
		pthread_join(loop->thread, NULL);
		loop->running = false;
	}
	for (int i = 0; i < server.nloops && server.loops != NULL; i++) {
		struct loop *loop = &server.loops[i];
		if (loop->base == NULL)
			continue;
		loop_run_posts(loop);
		for (int r = 0; r < CONN_ROLE_COUNT; r++) {
			if (loop->listeners[r] != NULL)
				evconnlistener_free(loop->listeners[r]);
		}
		struct event_base *base = loop->base;
		loop_deinit(loop);
		event_base_free(base);
	}
	free(server.loops);
	server.loops = NULL;
	for (int r = 0; r < CONN_ROLE_COUNT; r++) {
		struct server_listener *l = &server.listeners[r];
		for (int i = 0; l->fds != NULL && i < server.nloops; i++) {
			if (l->fds[i] >= 0)
				close(l->fds[i]);
		}
		free(l->fds);
		free(l->address);
		memset(l, 0, sizeof(*l));
	}
}

/* --- numbers for admin and guard --- */

long long
server_conn_count(void)
{
	return atomic_load(&server.conn_count);
}

void
server_conn_count_add(int delta)
{
	atomic_fetch_add(&server.conn_count, delta);
}

long long
server_session_count(const char *proto)
{
	enum metric_id id = strcmp(proto, "smtp") == 0 ? METRIC_SESSIONS_SMTP :
		strcmp(proto, "pop3") == 0 ? METRIC_SESSIONS_POP3 :
		METRIC_SESSIONS_IMAP;
	return metric_value(id);
}

bool
server_listeners_ok(char **reason_r)
{
	if (server_is_draining()) {
		*reason_r = xstrdup("draining");
		return false;
	}
	for (int r = 0; r < CONN_ROLE_COUNT; r++) {
		if (server.wanted[r] && !server.opened[r]) {
			*reason_r = xasprintf("listener %s is not open",
				conn_role_name((enum conn_role)r));
			return false;
		}
	}
	return true;
}

bool
server_role_open(enum conn_role role)
{
	return server.opened[role];
}

double
server_uptime_s(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - server.start.tv_sec) +
		(double)(now.tv_nsec - server.start.tv_nsec) / 1e9;
}

int
server_thread_count(void)
{
	return server.nloops;
}
