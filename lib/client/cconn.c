/* cconn.c: a client connection on libevent (see cconn.h). The fd is owned
 * here, not by a bufferevent, so the plain socket bufferevent can be swapped
 * for an OpenSSL one when TLS starts (implicit or STARTTLS). Plain TCP
 * input is read here, not by the bufferevent: libevent asks the kernel
 * how much is readable (ioctl FIONREAD) before every read, one system call
 * per reply more than needed. */
#include "postier.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>

#include "core/log.h"
#include "core/tls.h"
#include "core/xmalloc.h"
#include "client/cconn.h"

enum cconn_op {
	CCONN_OP_NONE,
	CCONN_OP_CONNECT,
	CCONN_OP_TLS,
	CCONN_OP_READ,
};

struct cconn {
	struct event_base *base;
	struct client_opts opts;
	char *host, *ca_file, *server_name;
	SSL_CTX *own_ctx;
	int fd;
	struct bufferevent *bev;
	struct event *rev;	/* plain TCP: our reads, into bev's input */
	bool rev_on;
	SSL *ssl;
	struct event *timer;
	struct event *kick;	/* processes buffered input from the loop */
	enum cconn_op op;
	cconn_cb *cb;
	void *cb_context;
	cconn_parse_fn *parse;
	void *parser;
	int64_t op_start_us;
	bool implicit_pending;	/* connect then handshake */
	bool closed;		/* peer closed or error seen */
	bool error_pending;	/* error set; the timer reports it */
	struct client_timing timing;
	char error[256];
};

int64_t
client_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int
client_tls_parse(const char *s, enum client_tls *tls_r)
{
	if (strcasecmp(s, "none") == 0 || strcasecmp(s, "no") == 0)
		*tls_r = CLIENT_TLS_NONE;
	else if (strcasecmp(s, "starttls") == 0 || strcasecmp(s, "stls") == 0)
		*tls_r = CLIENT_TLS_STARTTLS;
	else if (strcasecmp(s, "implicit") == 0 || strcasecmp(s, "tls") == 0 ||
		 strcasecmp(s, "ssl") == 0)
		*tls_r = CLIENT_TLS_IMPLICIT;
	else
		return -1;
	return 0;
}

const char *
client_tls_name(enum client_tls tls)
{
	switch (tls) {
	case CLIENT_TLS_NONE:
		return "none";
	case CLIENT_TLS_STARTTLS:
		return "starttls";
	case CLIENT_TLS_IMPLICIT:
		return "implicit";
	}
	return "?";
}

void
cconn_set_error(struct cconn *cc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cc->error, sizeof(cc->error), fmt, ap);
	va_end(ap);
}

static void cconn_timer_cb(evutil_socket_t fd, short what, void *context);
static void cconn_kick_cb(evutil_socket_t fd, short what, void *context);

struct cconn *
cconn_new(struct event_base *base, const struct client_opts *opts)
{
	struct cconn *cc = xcalloc(1, sizeof(*cc));
	cc->base = base;
	cc->opts = *opts;
	cc->host = xstrdup(opts->host != NULL ? opts->host : "127.0.0.1");
	cc->ca_file = opts->ca_file != NULL ? xstrdup(opts->ca_file) : NULL;
	cc->server_name = xstrdup(opts->server_name != NULL ?
		opts->server_name : cc->host);
	cc->opts.host = cc->host;
	cc->opts.ca_file = cc->ca_file;
	cc->opts.server_name = cc->server_name;
	if (cc->opts.timeout_ms <= 0)
		cc->opts.timeout_ms = 30000;
	cc->fd = -1;
	cc->timer = evtimer_new(base, cconn_timer_cb, cc);
	cc->kick = event_new(base, -1, 0, cconn_kick_cb, cc);
	PASSERT(cc->timer != NULL && cc->kick != NULL);
	return cc;
}

static void
cconn_drop_bev(struct cconn *cc)
{
	if (cc->bev != NULL) {
		bufferevent_free(cc->bev);
		cc->bev = NULL;
	}
}

void
cconn_free(struct cconn **ccp)
{
	struct cconn *cc = *ccp;
	if (cc == NULL)
		return;
	*ccp = NULL;
	cconn_drop_bev(cc);
	if (cc->rev != NULL)
		event_free(cc->rev);
	if (cc->ssl != NULL)
		SSL_free(cc->ssl);
	if (cc->fd >= 0)
		close(cc->fd);
	if (cc->own_ctx != NULL)
		SSL_CTX_free(cc->own_ctx);
	event_free(cc->timer);
	event_free(cc->kick);
	free(cc->host);
	free(cc->ca_file);
	free(cc->server_name);
	free(cc);
}

static void
cconn_arm(struct cconn *cc, enum cconn_op op, cconn_cb *cb, void *context)
{
	PASSERT(cc->op == CCONN_OP_NONE);
	cc->op = op;
	cc->cb = cb;
	cc->cb_context = context;
	cc->op_start_us = client_now_us();
	struct timeval tv = {
		.tv_sec = cc->opts.timeout_ms / 1000,
		.tv_usec = (cc->opts.timeout_ms % 1000) * 1000,
	};
	evtimer_add(cc->timer, &tv);
}

/* Starts or stops our own reads of a plain TCP connection. */
static void
cconn_plain_reads(struct cconn *cc, bool on)
{
	if (cc->rev == NULL || cc->rev_on == on)
		return;
	if (on)
		event_add(cc->rev, NULL);
	else
		event_del(cc->rev);
	cc->rev_on = on;
}

/* Ends the running operation; the callback runs last because it may free
 * the connection. */
static void
cconn_finish(struct cconn *cc, int result)
{
	cconn_cb *cb = cc->cb;
	void *context = cc->cb_context;
	int64_t now = client_now_us();

	switch (cc->op) {
	case CCONN_OP_CONNECT:
		cc->timing.connect_us = now - cc->op_start_us;
		break;
	case CCONN_OP_TLS:
		cc->timing.tls_us = now - cc->op_start_us;
		break;
	default:
		break;
	}
	cc->timing.last_us = now - cc->op_start_us;
	cc->op = CCONN_OP_NONE;
	cc->cb = NULL;
	cc->parse = NULL;
	evtimer_del(cc->timer);
	if (result != CLIENT_OK) {
		cc->closed = true;
		if (cc->bev != NULL)
			bufferevent_disable(cc->bev, EV_READ | EV_WRITE);
		cconn_plain_reads(cc, false);
	}
	if (cb != NULL)
		cb(cc, result, context);
}

static void
cconn_fail(struct cconn *cc, const char *fmt, ...) ATTR_PRINTF(2, 3);

static void
cconn_fail(struct cconn *cc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cc->error, sizeof(cc->error), fmt, ap);
	va_end(ap);
	cconn_finish(cc, CLIENT_ERROR);
}

static void
cconn_timer_cb(evutil_socket_t fd ATTR_UNUSED, short what ATTR_UNUSED,
	void *context)
{
	struct cconn *cc = context;
	if (cc->error_pending) {
		cc->error_pending = false;
		cconn_finish(cc, CLIENT_ERROR);
		return;
	}
	static const char *const names[] = {
		[CCONN_OP_NONE] = "idle", [CCONN_OP_CONNECT] = "connect",
		[CCONN_OP_TLS] = "TLS handshake", [CCONN_OP_READ] = "reply",
	};
	cconn_fail(cc, "timeout after %d ms waiting for %s",
		cc->opts.timeout_ms, names[cc->op]);
}

/* Runs the parser over buffered input. */
static void
cconn_process(struct cconn *cc)
{
	if (cc->op != CCONN_OP_READ || cc->bev == NULL)
		return;
	struct evbuffer *in = bufferevent_get_input(cc->bev);
	while (evbuffer_get_length(in) > 0 && cc->op == CCONN_OP_READ) {
		struct evbuffer_iovec v;
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		size_t used = 0;
		const char *error = NULL;
		int ret = cc->parse(cc->parser, v.iov_base, v.iov_len, &used,
			&error);
		evbuffer_drain(in, used);
		if (ret < 0) {
			cconn_fail(cc, "malformed reply: %s",
				error != NULL ? error : "?");
			return;
		}
		if (ret > 0) {
			cconn_finish(cc, CLIENT_OK);
			return;
		}
	}
	if (cc->op == CCONN_OP_READ && cc->closed)
		cconn_fail(cc, "connection closed by server");
}

static void
cconn_kick_cb(evutil_socket_t fd ATTR_UNUSED, short what ATTR_UNUSED,
	void *context)
{
	cconn_process(context);
}

static void
cconn_read_cb(struct bufferevent *bev ATTR_UNUSED, void *context)
{
	cconn_process(context);
}

static void cconn_event_cb(struct bufferevent *bev, short what, void *context);

/* libevent moves at most 16 KiB per read or write call by default: a
 * 140 KB message would take nine loop turns. */
static void
cconn_bev_limits(struct bufferevent *bev)
{
	bufferevent_set_max_single_write(bev, 256 * 1024);
	bufferevent_set_max_single_read(bev, 256 * 1024);
}

static void
cconn_tls_start(struct cconn *cc)
{
	if (cc->opts.ssl_ctx == NULL && cc->own_ctx == NULL) {
		const char *error;
		cc->own_ctx = tls_client_ctx_new(cc->ca_file, &error);
		if (cc->own_ctx == NULL) {
			cconn_fail(cc, "TLS context: %s", error);
			return;
		}
	}
	SSL_CTX *ctx = cc->opts.ssl_ctx != NULL ? cc->opts.ssl_ctx : cc->own_ctx;
	cconn_plain_reads(cc, false);	/* the OpenSSL bufferevent reads */
	cconn_drop_bev(cc);
	cc->ssl = tls_client_ssl_new(ctx, cc->server_name);
	cc->bev = bufferevent_openssl_socket_new(cc->base, cc->fd, cc->ssl,
		BUFFEREVENT_SSL_CONNECTING, 0);
	PASSERT(cc->bev != NULL);
	bufferevent_openssl_set_allow_dirty_shutdown(cc->bev, 1);
	bufferevent_setcb(cc->bev, cconn_read_cb, NULL, cconn_event_cb, cc);
	cconn_bev_limits(cc->bev);
	bufferevent_enable(cc->bev, EV_READ | EV_WRITE);
}

static void
cconn_event_cb(struct bufferevent *bev, short what, void *context)
{
	struct cconn *cc = context;

	if ((what & BEV_EVENT_CONNECTED) != 0) {
		if (cc->op == CCONN_OP_CONNECT && cc->implicit_pending) {
			/* TCP is up: time it, then start the handshake. */
			cc->implicit_pending = false;
			cc->timing.connect_us = client_now_us() - cc->op_start_us;
			cc->op_start_us = client_now_us();
			cc->op = CCONN_OP_TLS;
			cconn_tls_start(cc);
			return;
		}
		if (cc->ssl == NULL)
			cconn_plain_reads(cc, true);
		if (cc->op == CCONN_OP_CONNECT || cc->op == CCONN_OP_TLS)
			cconn_finish(cc, CLIENT_OK);
		return;
	}
	if ((what & (BEV_EVENT_ERROR | BEV_EVENT_EOF)) == 0)
		return;
	cc->closed = true;
	if (cc->op == CCONN_OP_READ) {
		/* Let the parser see what arrived before the close. */
		cconn_process(cc);
		return;
	}
	if (cc->op == CCONN_OP_NONE)
		return;
	unsigned long ssl_err = cc->ssl != NULL ?
		bufferevent_get_openssl_error(bev) : 0;
	int err = EVUTIL_SOCKET_ERROR();
	const char *what_op = cc->op == CCONN_OP_TLS ? "TLS handshake" :
		"connect";
	if (ssl_err != 0) {
		char tmp[200];
		ERR_error_string_n(ssl_err, tmp, sizeof(tmp));
		cconn_fail(cc, "%s: %s", what_op, tmp);
	} else if ((what & BEV_EVENT_EOF) != 0 || err == 0) {
		cconn_fail(cc, "%s: connection closed by server", what_op);
	} else {
		cconn_fail(cc, "%s: %s", what_op, strerror(err));
	}
}

/* Bytes asked for per read of a plain connection: an SMTP reply fits many
 * times; a fetched message takes one read per 16 KiB. */
#define CCONN_READ_BYTES (16 * 1024)

/* Plain TCP input: one recv() into the bufferevent's input buffer, then
 * the parser; end of file and errors go where the bufferevent's would. */
static void
cconn_plain_read_cb(evutil_socket_t fd, short what ATTR_UNUSED, void *context)
{
	struct cconn *cc = context;
	if (cc->bev == NULL)
		return;
	struct evbuffer *in = bufferevent_get_input(cc->bev);
	struct evbuffer_iovec v;
	if (evbuffer_reserve_space(in, CCONN_READ_BYTES, &v, 1) < 1)
		log_panic("evbuffer_reserve_space failed");
	ssize_t n = recv(fd, v.iov_base, v.iov_len, 0);
	if (n > 0) {
		v.iov_len = (size_t)n;
		evbuffer_commit_space(in, &v, 1);
		cconn_process(cc);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		      errno == EINTR))
		return;
	cconn_plain_reads(cc, false);
	cconn_event_cb(cc->bev, BEV_EVENT_READING |
		(n == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR), cc);
}

void
cconn_connect(struct cconn *cc, cconn_cb *cb, void *context)
{
	cconn_arm(cc, CCONN_OP_CONNECT, cb, context);
	struct addrinfo hints = {
		.ai_family = cc->opts.family,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICSERV,
	};
	struct addrinfo *res = NULL;
	char port[16];
	snprintf(port, sizeof(port), "%u", cc->opts.port);
	int ret = getaddrinfo(cc->host, port, &hints, &res);
	if (ret != 0 || res == NULL) {
		cconn_set_error(cc, "resolve %s: %s", cc->host,
			ret != 0 ? gai_strerror(ret) : "no address");
		goto fail_later;
	}
	/* XXX only the first address is tried: enough for the loopback and
	 * single-address targets we measure; -4/-6 choose the family. */
	cc->fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK |
		SOCK_CLOEXEC, 0);
	if (cc->fd < 0) {
		cconn_set_error(cc, "socket: %s", strerror(errno));
		freeaddrinfo(res);
		goto fail_later;
	}
	int one = 1;
	setsockopt(cc->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	cc->rev = event_new(cc->base, cc->fd, EV_READ | EV_PERSIST,
		cconn_plain_read_cb, cc);
	PASSERT(cc->rev != NULL);
	cc->bev = bufferevent_socket_new(cc->base, cc->fd, 0);
	PASSERT(cc->bev != NULL);
	bufferevent_setcb(cc->bev, cconn_read_cb, NULL, cconn_event_cb, cc);
	cconn_bev_limits(cc->bev);
	cc->implicit_pending = cc->opts.tls == CLIENT_TLS_IMPLICIT;
	ret = bufferevent_socket_connect(cc->bev, res->ai_addr,
		(int)res->ai_addrlen);
	freeaddrinfo(res);
	if (ret < 0) {
		cconn_set_error(cc, "connect: %s", strerror(errno));
		goto fail_later;
	}
	return;
fail_later:
	/* Report from the loop, never from inside the call. */
	cc->error_pending = true;
	struct timeval zero = { 0, 0 };
	evtimer_add(cc->timer, &zero);
}

void
cconn_starttls(struct cconn *cc, cconn_cb *cb, void *context)
{
	cconn_arm(cc, CCONN_OP_TLS, cb, context);
	if (cc->bev == NULL || cc->closed || cc->ssl != NULL) {
		cconn_set_error(cc, "STARTTLS: %s", cc->ssl != NULL ?
			"TLS already active" : "not connected");
	} else if (evbuffer_get_length(bufferevent_get_input(cc->bev)) > 0) {
		/* RFC 3207 5: plaintext after STARTTLS is an injection. */
		cconn_set_error(cc, "STARTTLS: server sent data before the "
			"handshake");
	} else {
		cconn_tls_start(cc);
		return;
	}
	cc->error_pending = true;
	struct timeval zero = { 0, 0 };
	evtimer_add(cc->timer, &zero);
}

/* Sends what the socket takes right away when nothing is queued (plain
 * TCP only): it saves the event-loop round trip and two epoll_ctl calls
 * per command. Errors are left for the bufferevent to find. */
static size_t
cconn_try_send(struct cconn *cc, const void *data, size_t len)
{
	if (cc->ssl != NULL || cc->fd < 0 || cc->op == CCONN_OP_CONNECT ||
	    evbuffer_get_length(bufferevent_get_output(cc->bev)) > 0)
		return 0;
	ssize_t n = send(cc->fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	return n > 0 ? (size_t)n : 0;
}

void
cconn_write(struct cconn *cc, const void *data, size_t len)
{
	if (cc->bev == NULL || cc->closed)
		return;
	size_t sent = cconn_try_send(cc, data, len);
	if (sent < len)
		bufferevent_write(cc->bev, (const char *)data + sent, len - sent);
}

/* The most buffers one sendmsg() takes (IOV_MAX is 1024 on Linux). */
#define CCONN_IOV_MAX 1024

void
cconn_writev_borrowed(struct cconn *cc, const struct iovec *iov, int iovcnt,
	const void *tail, size_t tail_len)
{
	if (cc->bev == NULL || cc->closed)
		return;
	size_t sent = 0;
	if (cc->ssl == NULL && cc->fd >= 0 && cc->op != CCONN_OP_CONNECT &&
	    evbuffer_get_length(bufferevent_get_output(cc->bev)) == 0) {
		struct iovec stack[16];
		int n = iovcnt < CCONN_IOV_MAX ? iovcnt : CCONN_IOV_MAX - 1;
		struct iovec *v = n + 1 <= (int)N_ELEMENTS(stack) ? stack :
			xmalloc((size_t)(n + 1) * sizeof(*v));
		memcpy(v, iov, (size_t)n * sizeof(*v));
		int vn = n;
		if (n == iovcnt && tail_len > 0) {
			v[vn].iov_base = (void *)tail;
			v[vn++].iov_len = tail_len;
		}
		struct msghdr mh = { .msg_iov = v, .msg_iovlen = (size_t)vn };
		ssize_t r = sendmsg(cc->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		sent = r > 0 ? (size_t)r : 0;
		if (v != stack)
			free(v);
	}
	/* What the socket did not take: the buffers by reference, the tail
	 * copied. */
	struct evbuffer *out = bufferevent_get_output(cc->bev);
	for (int i = 0; i < iovcnt; i++) {
		size_t len = iov[i].iov_len;
		if (sent >= len) {
			sent -= len;
			continue;
		}
		const char *base = iov[i].iov_base;
		evbuffer_add_reference(out, base + sent, len - sent, NULL,
			NULL);
		sent = 0;
	}
	if (sent < tail_len)
		bufferevent_write(cc->bev, (const char *)tail + sent,
			tail_len - sent);
}

void
cconn_write_ref(struct cconn *cc, const void *data, size_t len,
	void (*free_fn)(const void *data, size_t len, void *ctx), void *ctx)
{
	if (cc->bev != NULL && !cc->closed) {
		size_t sent = cconn_try_send(cc, data, len);
		if (sent == len) {
			if (free_fn != NULL)
				free_fn(data, len, ctx);
			return;
		}
		/* The rest by reference; free_fn still gets the whole. */
		if (sent == 0) {
			evbuffer_add_reference(bufferevent_get_output(cc->bev),
				data, len, free_fn, ctx);
		} else {
			evbuffer_add(bufferevent_get_output(cc->bev),
				(const char *)data + sent, len - sent);
			if (free_fn != NULL)
				free_fn(data, len, ctx);
		}
	} else if (free_fn != NULL) {
		free_fn(data, len, ctx);
	}
}

void
cconn_read(struct cconn *cc, cconn_parse_fn *parse, void *parser,
	cconn_cb *cb, void *context)
{
	cconn_arm(cc, CCONN_OP_READ, cb, context);
	cc->parse = parse;
	cc->parser = parser;
	if (cc->bev == NULL) {
		cconn_set_error(cc, "not connected");
		cc->error_pending = true;
		struct timeval zero = { 0, 0 };
		evtimer_add(cc->timer, &zero);
		return;
	}
	/* Enabling again re-adds the write event (two epoll_ctl calls per
	 * reply): only when something disabled it. Plain TCP is read by
	 * cconn_plain_read_cb(), not by the bufferevent. */
	short want = cc->rev_on ? EV_WRITE : EV_READ | EV_WRITE;
	if (bufferevent_get_enabled(cc->bev) != want)
		bufferevent_enable(cc->bev, want);
	if (evbuffer_get_length(bufferevent_get_input(cc->bev)) > 0 ||
	    cc->closed)
		event_active(cc->kick, 0, 0);
}

void
cconn_cancel(struct cconn *cc)
{
	if (cc->op == CCONN_OP_NONE)
		return;
	cc->op = CCONN_OP_NONE;
	cc->cb = NULL;
	cc->parse = NULL;
	cc->error_pending = false;
	evtimer_del(cc->timer);
}

void
cconn_set_timeout_ms(struct cconn *cc, int timeout_ms)
{
	if (timeout_ms > 0)
		cc->opts.timeout_ms = timeout_ms;
}

const char *
cconn_error(const struct cconn *cc)
{
	return cc->error[0] != '\0' ? cc->error : "no error";
}

struct client_timing *
cconn_timing(struct cconn *cc)
{
	return &cc->timing;
}

bool
cconn_is_tls(const struct cconn *cc)
{
	return cc->ssl != NULL;
}

SSL *
cconn_ssl(const struct cconn *cc)
{
	return cc->ssl;
}

const struct client_opts *
cconn_opts(const struct cconn *cc)
{
	return &cc->opts;
}

struct event_base *
cconn_base(const struct cconn *cc)
{
	return cc->base;
}
