/* conn.c: one client connection (see conn.h): accept-time limits, implicit
 * TLS and STARTTLS, the bounded line reader, raw reads, output watermarks,
 * timeouts, and the one place a connection ends.
 *
 * A conn is freed only from a libevent callback of its own loop (never from
 * inside a session callback), so sessions may call any conn_ function from
 * their handlers. Protocol logic lives in the sessions; this file knows no
 * protocol beyond the one-line refusal written at accept. */
#include "postier.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/log.h"
#include "core/metric.h"
#include "core/xmalloc.h"
#include "conn.h"
#include "guard.h"
#include "loop.h"
#include "protocols.h"
#include "server.h"
#include "settings.h"
#include "tls.h"

/* Output above HIGH stops reading from the peer until it falls to LOW
 * (STYLE: a peer that does not read cannot make us buffer without bound). */
#define CONN_OUTPUT_HIGH_BYTES (256 * 1024)
#define CONN_OUTPUT_LOW_BYTES (64 * 1024)
/* RFC 5321 4.5.3.1.6: a text line is at most 1000 octets, CRLF included */
#define CONN_DEFAULT_LINE_LIMIT 1000
/* Implicit TLS and STARTTLS handshakes must finish within this. */
#define CONN_TLS_HANDSHAKE_TIMEOUT_MS 30000
/* One read or write per loop iteration moves at most this much: a 140 KiB
 * message arrives in three reads instead of nine (libevent's default 16 KiB). */
#define CONN_MAX_SINGLE_IO_BYTES (64 * 1024)
/* While draining, a session without input for this long is timed out. */
#define CONN_DRAIN_IDLE_MS 1000

enum conn_state {
	CONN_STATE_TLS_ACCEPT,     /* implicit TLS handshake */
	CONN_STATE_OPEN,
	CONN_STATE_STARTTLS_FLUSH, /* "go ahead" queued, waiting for it to leave */
	CONN_STATE_STARTTLS,       /* handshake after STARTTLS */
	CONN_STATE_CLOSING,        /* flushing, then on_closed */
	CONN_STATE_CLOSED,
};

struct conn {
	uint64_t id;
	char sid[17];
	struct loop *loop;
	struct conn *hnext;        /* loop's id table chain */
	struct conn *prev, *next;  /* loop's list */
	int fd;
	struct bufferevent *bev;
	bool bev_owns_fd;          /* TLS bufferevents close the fd on free */
	enum conn_role role;
	enum conn_state state;
	struct postierd_settings *set;

	const struct conn_handler *h;
	void *session;
	bool session_started;

	size_t line_limit;
	size_t raw_left;     /* bytes still to hand to on_data() */
	size_t scanned;      /* input bytes already searched for LF */
	bool discarding;     /* dropping the rest of a too-long line */
	bool paused;         /* session asked to stop input */
	bool wm_blocked;     /* output above the high watermark */
	bool drain_wanted;   /* output went above LOW: on_drained() due */
	bool yield_wanted;   /* conn_yield(): on_drained() at the next turn */
	bool eof;            /* peer closed its side */
	bool in_process;
	long long timeout_ms;
	const char *close_reason;

	struct event *kick;  /* deferred work on this conn's loop */
	bool tls;
	char tls_desc[96];
	char rip[INET6_ADDRSTRLEN];
	char lip[INET6_ADDRSTRLEN];
	int rport, lport;
};

static void conn_read_cb(struct bufferevent *bev, void *context);
static void conn_write_cb(struct bufferevent *bev, void *context);
static void conn_event_cb(struct bufferevent *bev, short what, void *context);
static void conn_process(struct conn *c);

static _Atomic uint64_t conn_next_id;

static const char *const conn_role_names[CONN_ROLE_COUNT] = {
	[CONN_ROLE_SMTP] = "smtp",
	[CONN_ROLE_SUBMISSION] = "submission",
	[CONN_ROLE_SUBMISSIONS] = "submissions",
	[CONN_ROLE_POP3] = "pop3",
	[CONN_ROLE_POP3S] = "pop3s",
	[CONN_ROLE_IMAP] = "imap",
	[CONN_ROLE_IMAPS] = "imaps",
};

const char *
conn_role_name(enum conn_role role)
{
	PASSERT(role < CONN_ROLE_COUNT);
	return conn_role_names[role];
}

const char *
conn_role_proto(enum conn_role role)
{
	switch (role) {
	case CONN_ROLE_SMTP:
	case CONN_ROLE_SUBMISSION:
	case CONN_ROLE_SUBMISSIONS:
		return "smtp";
	case CONN_ROLE_POP3:
	case CONN_ROLE_POP3S:
		return "pop3";
	case CONN_ROLE_IMAP:
	case CONN_ROLE_IMAPS:
		return "imap";
	case CONN_ROLE_COUNT:
		break;
	}
	log_panic("bad role %d", (int)role);
}

static bool
conn_role_implicit_tls(enum conn_role role)
{
	return role == CONN_ROLE_SUBMISSIONS || role == CONN_ROLE_POP3S ||
		role == CONN_ROLE_IMAPS;
}

static void
conn_metric_by_proto(enum conn_role role, enum metric_id smtp,
	enum metric_id pop3, enum metric_id imap, int64_t delta)
{
	const char *proto = conn_role_proto(role);
	enum metric_id id = proto[0] == 's' ? smtp : proto[0] == 'p' ? pop3 : imap;
	if (metric_descs[id].type == METRIC_TYPE_GAUGE)
		metric_gauge_add(id, delta);
	else
		metric_add(id, (uint64_t)delta);
}

/* --- identity and accessors --- */

uint64_t
conn_id(const struct conn *c)
{
	return c->id;
}

const char *
conn_sid(const struct conn *c)
{
	return c->sid;
}

const char *
conn_remote_ip(const struct conn *c)
{
	return c->rip;
}

int
conn_remote_port(const struct conn *c)
{
	return c->rport;
}

const char *
conn_local_ip(const struct conn *c)
{
	return c->lip;
}

int
conn_local_port(const struct conn *c)
{
	return c->lport;
}

enum conn_role
conn_role(const struct conn *c)
{
	return c->role;
}

struct loop *
conn_loop(const struct conn *c)
{
	return c->loop;
}

const struct postierd_settings *
conn_settings(const struct conn *c)
{
	return c->set;
}

bool
conn_server_draining(const struct conn *c ATTR_UNUSED)
{
	return server_is_draining();
}

bool
conn_is_tls(const struct conn *c)
{
	return c->tls;
}

bool
conn_tls_available(const struct conn *c)
{
	return !c->tls && tls_server_available();
}

const char *
conn_tls_description(const struct conn *c)
{
	return c->tls ? c->tls_desc : NULL;
}

struct conn *
conn_list_next(const struct conn *c)
{
	return c->next;
}

size_t
conn_output_pending(const struct conn *c)
{
	/* no bufferevent only while a failed STARTTLS ends the conn */
	if (c->bev == NULL)
		return 0;
	return evbuffer_get_length(bufferevent_get_output(c->bev));
}

/* --- scheduling --- */

static void
conn_kick(struct conn *c)
{
	event_active(c->kick, EV_TIMEOUT, 1);
}

static void
conn_apply_timeouts(struct conn *c)
{
	struct timeval tv, *rtv = NULL, *wtv = NULL;
	long long ms = c->timeout_ms;
	if (c->state == CONN_STATE_TLS_ACCEPT || c->state == CONN_STATE_STARTTLS)
		ms = CONN_TLS_HANDSHAKE_TIMEOUT_MS;
	else if (server_is_draining() && (ms == 0 || ms > CONN_DRAIN_IDLE_MS))
		ms = CONN_DRAIN_IDLE_MS;
	if (ms > 0) {
		tv.tv_sec = ms / 1000;
		tv.tv_usec = (ms % 1000) * 1000;
		rtv = &tv;
		/* A peer that stops reading gets as long as an idle one. */
		wtv = c->timeout_ms > 0 || c->state != CONN_STATE_OPEN ? &tv : NULL;
	}
	bufferevent_set_timeouts(c->bev, rtv, wtv);
}

/* Whether the session wants input events now. */
static bool
conn_wants_input(const struct conn *c)
{
	return c->state == CONN_STATE_OPEN && !c->paused && !c->wm_blocked &&
		c->h != NULL;
}

static void
conn_update_reading(struct conn *c)
{
	if (conn_wants_input(c) && !c->eof)
		bufferevent_enable(c->bev, EV_READ);
	else
		bufferevent_disable(c->bev, EV_READ);
}

/* --- the end of a connection --- */

static void
conn_free(struct conn *c, bool graceful)
{
	loop_remove_conn(c->loop, c);
	if (graceful && c->tls && c->bev != NULL) {
		/* close_notify (RFC 8446 6.1), so the peer sees a clean end;
		 * not after a fatal TLS error, when OpenSSL forbids it */
		SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
		if (ssl != NULL)
			(void)SSL_shutdown(ssl);
		ERR_clear_error();
	}
	if (c->session_started)
		conn_metric_by_proto(c->role, METRIC_SESSIONS_SMTP,
			METRIC_SESSIONS_POP3, METRIC_SESSIONS_IMAP, -1);
	guard_conn_close(c->rip);
	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	if (!c->bev_owns_fd)
		close(c->fd);
	event_free(c->kick);
	settings_unref(&c->set);
	free(c);
}

/* Ends the connection now: on_closed(reason), then free. Only from libevent
 * callbacks of this loop. */
static void
conn_finish(struct conn *c, const char *reason)
{
	if (c->state == CONN_STATE_CLOSED)
		return;
	bool graceful = c->state == CONN_STATE_CLOSING;
	c->state = CONN_STATE_CLOSED;
	log_debug("conn.close", "sid=%s reason=%s", c->sid, reason);
	if (c->h != NULL && c->h->on_closed != NULL)
		c->h->on_closed(c->session, reason);
	conn_free(c, graceful);
}

/* Flushes the output, then conn_finish(reason). */
static void
conn_begin_close(struct conn *c, const char *reason)
{
	if (c->state == CONN_STATE_CLOSING || c->state == CONN_STATE_CLOSED)
		return;
	c->state = CONN_STATE_CLOSING;
	c->close_reason = reason;
	bufferevent_disable(c->bev, EV_READ);
	/* the write callback fires when everything has left */
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	if (conn_output_pending(c) == 0)
		conn_kick(c);
	else
		bufferevent_enable(c->bev, EV_WRITE);
}

void
conn_close(struct conn *c)
{
	conn_begin_close(c, "closed");
}

void
conn_abort(struct conn *c, const char *reason)
{
	conn_finish(c, reason);
}

void
conn_drain_notify(struct conn *c)
{
	if (c->state == CONN_STATE_OPEN)
		conn_apply_timeouts(c);
}

/* --- output --- */

static void
conn_check_output(struct conn *c)
{
	size_t pending = conn_output_pending(c);
	if (pending > CONN_OUTPUT_LOW_BYTES)
		c->drain_wanted = true;
	if (pending > CONN_OUTPUT_HIGH_BYTES && !c->wm_blocked) {
		c->wm_blocked = true;
		conn_update_reading(c);
	}
}

void
conn_write(struct conn *c, const void *data, size_t len)
{
	if (c->state != CONN_STATE_OPEN || len == 0)
		return;
	evbuffer_add(bufferevent_get_output(c->bev), data, len);
	conn_check_output(c);
}

struct conn_blob *
conn_blob_new(void)
{
	struct conn_blob *blob = xcalloc(1, sizeof(*blob));
	blob->refs = 1;
	buf_init(&blob->text);
	return blob;
}

void
conn_blob_unref(struct conn_blob **blobp)
{
	struct conn_blob *blob = *blobp;
	*blobp = NULL;
	if (blob == NULL || --blob->refs > 0)
		return;
	buf_clear(&blob->text);
	free(blob);
}

static void
conn_blob_sent(const void *data ATTR_UNUSED, size_t len ATTR_UNUSED,
	void *extra)
{
	struct conn_blob *blob = extra;
	conn_blob_unref(&blob);
}

/* Below this a copy costs less than libevent's reference chain. */
#define CONN_BLOB_REF_MIN (8 * 1024)

void
conn_write_blob(struct conn *c, struct conn_blob *blob, size_t off,
	size_t len)
{
	PASSERT(off + len <= buf_len(&blob->text));
	if (c->state != CONN_STATE_OPEN || len == 0)
		return;
	const char *data = buf_data(&blob->text) + off;
	if (len < CONN_BLOB_REF_MIN) {
		conn_write(c, data, len);
		return;
	}
	blob->refs++;
	if (evbuffer_add_reference(bufferevent_get_output(c->bev), data, len,
		    conn_blob_sent, blob) < 0) {
		/* libevent out of memory: copy instead */
		blob->refs--;
		conn_write(c, data, len);
		return;
	}
	conn_check_output(c);
}

void
conn_yield(struct conn *c)
{
	if (c->state != CONN_STATE_OPEN)
		return;
	/* a zero timeout, not event_active(): timers run after the loop has
	 * polled, so other connections' I/O goes first */
	static const struct timeval next_turn = { 0, 0 };
	c->yield_wanted = true;
	event_add(c->kick, &next_turn);
}

void
conn_write_str(struct conn *c, const char *s)
{
	conn_write(c, s, strlen(s));
}

void
conn_printf(struct conn *c, const char *fmt, ...)
{
	if (c->state != CONN_STATE_OPEN)
		return;
	va_list ap;
	va_start(ap, fmt);
	evbuffer_add_vprintf(bufferevent_get_output(c->bev), fmt, ap);
	va_end(ap);
	conn_check_output(c);
}

/* --- session-facing controls --- */

void
conn_set_handler(struct conn *c, const struct conn_handler *h, void *session)
{
	c->h = h;
	c->session = session;
}

void
conn_pause_input(struct conn *c, bool paused)
{
	if (c->paused == paused)
		return;
	c->paused = paused;
	if (c->state != CONN_STATE_OPEN)
		return;
	conn_update_reading(c);
	/* input already buffered is delivered from the loop, not from here */
	if (!paused)
		conn_kick(c);
}

void
conn_set_line_limit(struct conn *c, size_t max_line_bytes)
{
	PASSERT(max_line_bytes >= 2);
	c->line_limit = max_line_bytes;
}

void
conn_read_bytes(struct conn *c, size_t n)
{
	PASSERT(n > 0);
	c->raw_left = n;
	c->scanned = 0;
}

void
conn_set_timeout(struct conn *c, long long timeout_ms)
{
	c->timeout_ms = timeout_ms < 0 ? 0 : timeout_ms;
	if (c->state == CONN_STATE_OPEN)
		conn_apply_timeouts(c);
}

int
conn_starttls(struct conn *c)
{
	if (c->tls || c->state != CONN_STATE_OPEN || !tls_server_available())
		return -1;
	c->state = CONN_STATE_STARTTLS_FLUSH;
	/* RFC 3207 4: nothing the client pipelined after STARTTLS is used */
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	if (conn_output_pending(c) == 0)
		conn_kick(c);
	else
		bufferevent_enable(c->bev, EV_WRITE);
	return 0;
}

/* --- TLS --- */

static void
conn_tls_describe(struct conn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	snprintf(c->tls_desc, sizeof(c->tls_desc), "%s %s",
		SSL_get_version(ssl), SSL_get_cipher_name(ssl));
	c->tls = true;
	conn_metric_by_proto(c->role, METRIC_CONN_TLS_SMTP, METRIC_CONN_TLS_POP3,
		METRIC_CONN_TLS_IMAP, 1);
}

static int
conn_tls_begin(struct conn *c)
{
	SSL *ssl = tls_server_ssl_new();
	if (ssl == NULL)
		return -1;
	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	c->bev = bufferevent_openssl_socket_new(c->loop->base, c->fd, ssl,
		BUFFEREVENT_SSL_ACCEPTING,
		BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (c->bev == NULL) {
		SSL_free(ssl);
		return -1;
	}
	c->bev_owns_fd = true;
	bufferevent_set_max_single_read(c->bev, CONN_MAX_SINGLE_IO_BYTES);
	bufferevent_set_max_single_write(c->bev, CONN_MAX_SINGLE_IO_BYTES);
	/* A peer that just closes the socket is not an attack on us. */
	bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, CONN_OUTPUT_LOW_BYTES, 0);
	conn_apply_timeouts(c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	return 0;
}

/* The "go ahead" reply has left: replace the plain bufferevent with a TLS
 * one on the same socket. Input read before is dropped with the old one. */
static void
conn_starttls_switch(struct conn *c)
{
	c->state = CONN_STATE_STARTTLS;
	c->scanned = 0;
	c->discarding = false;
	c->raw_left = 0;
	if (conn_tls_begin(c) < 0) {
		log_error("tls.error", "sid=%s error=cannot_start_tls", c->sid);
		/* the plain bufferevent is gone or unusable: end now */
		conn_finish(c, "tls_error");
	}
}

/* --- session start --- */

/* The protocol whose session serves a role (protocols.h). */
static void (*conn_start_fn(enum conn_role role))(struct conn *)
{
	const char *proto = conn_role_proto(role);
	if (proto[0] == 's')
		return smtpd_session_start;
	if (proto[0] == 'p')
		return pop3d_session_start;
	return imapd_session_start;
}

static void
conn_start_session(struct conn *c)
{
	void (*start)(struct conn *) = conn_start_fn(c->role);
	c->state = CONN_STATE_OPEN;
	c->session_started = true;
	conn_metric_by_proto(c->role, METRIC_SESSIONS_SMTP, METRIC_SESSIONS_POP3,
		METRIC_SESSIONS_IMAP, 1);
	conn_apply_timeouts(c);
	start(c);
	if (c->state != CONN_STATE_OPEN)
		return;
	if (c->h == NULL) {
		log_error("conn.no_handler", "sid=%s role=%s", c->sid,
			conn_role_name(c->role));
		conn_begin_close(c, "closed");
		return;
	}
	conn_update_reading(c);
	/* bytes that came with the handshake */
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
		conn_kick(c);
}

/* --- input --- */

/* Hands complete lines and raw bytes to the session while it wants them. */
static void
conn_process(struct conn *c)
{
	if (c->in_process)
		return;
	c->in_process = true;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	for (;;) {
		size_t avail = evbuffer_get_length(in);
		if (avail == 0 || !conn_wants_input(c))
			break;
		if (c->raw_left > 0) {
			size_t n = evbuffer_get_contiguous_space(in);
			if (n == 0 || n > avail)
				n = avail;
			if (n > c->raw_left)
				n = c->raw_left;
			const char *p = (const char *)evbuffer_pullup(in, (ssize_t)n);
			c->raw_left -= n;
			if (c->h->on_data != NULL)
				c->h->on_data(c->session, p, n);
			evbuffer_drain(in, n);
			continue;
		}
		struct evbuffer_ptr start, lf;
		evbuffer_ptr_set(in, &start, c->discarding ? 0 : c->scanned,
			EVBUFFER_PTR_SET);
		lf = evbuffer_search_eol(in, &start, NULL, EVBUFFER_EOL_LF);
		if (c->discarding) {
			/* the tail of a too-long line: never buffered */
			if (lf.pos < 0) {
				evbuffer_drain(in, avail);
				break;
			}
			evbuffer_drain(in, (size_t)lf.pos + 1);
			c->discarding = false;
			continue;
		}
		if (lf.pos < 0) {
			if (avail < c->line_limit) {
				c->scanned = avail;
				break;
			}
			/* no LF within the limit: the line can only be too long */
			size_t n = c->line_limit;
			const char *p = (const char *)evbuffer_pullup(in, (ssize_t)n);
			c->scanned = 0;
			c->discarding = true;
			c->h->on_line(c->session, p, n, true);
			evbuffer_drain(in, n);
			continue;
		}
		c->scanned = 0;
		size_t total = (size_t)lf.pos + 1;
		if (total > c->line_limit) {
			size_t n = c->line_limit;
			const char *p = (const char *)evbuffer_pullup(in, (ssize_t)n);
			c->h->on_line(c->session, p, n, true);
			evbuffer_drain(in, total);
			continue;
		}
		const char *p = (const char *)evbuffer_pullup(in, (ssize_t)total);
		size_t len = total - 1;
		if (len > 0 && p[len - 1] == '\r')
			len--;
		c->h->on_line(c->session, p, len, false);
		evbuffer_drain(in, total);
	}
	c->in_process = false;
	if (c->state == CONN_STATE_OPEN && c->eof && !c->paused) {
		/* the peer is gone and nothing more can be handed over */
		conn_begin_close(c, "peer_closed");
	}
}

/* --- libevent callbacks --- */

static void
conn_read_cb(struct bufferevent *bev ATTR_UNUSED, void *context)
{
	struct conn *c = context;
	if (c->state == CONN_STATE_OPEN)
		conn_process(c);
	else if (c->state == CONN_STATE_CLOSING ||
		c->state == CONN_STATE_STARTTLS_FLUSH) {
		struct evbuffer *in = bufferevent_get_input(c->bev);
		evbuffer_drain(in, evbuffer_get_length(in));
	}
}

static void
conn_write_cb(struct bufferevent *bev ATTR_UNUSED, void *context)
{
	struct conn *c = context;
	size_t pending = conn_output_pending(c);

	switch (c->state) {
	case CONN_STATE_CLOSING:
		if (pending == 0)
			conn_finish(c, c->close_reason);
		return;
	case CONN_STATE_STARTTLS_FLUSH:
		if (pending == 0)
			conn_starttls_switch(c);
		return;
	case CONN_STATE_OPEN:
		break;
	default:
		return;
	}
	if (pending > CONN_OUTPUT_LOW_BYTES)
		return;
	if (c->wm_blocked) {
		c->wm_blocked = false;
		conn_update_reading(c);
		conn_kick(c);
	}
	if (c->drain_wanted) {
		c->drain_wanted = false;
		if (c->h != NULL && c->h->on_drained != NULL)
			c->h->on_drained(c->session);
		if (c->state == CONN_STATE_OPEN)
			conn_check_output(c);
	}
}

static void
conn_event_cb(struct bufferevent *bev ATTR_UNUSED, short what, void *context)
{
	struct conn *c = context;

	if ((what & BEV_EVENT_CONNECTED) != 0) {
		/* a TLS handshake finished */
		conn_tls_describe(c);
		log_debug("tls.ready", "sid=%s tls=%s", c->sid,
			log_quote(c->tls_desc));
		if (c->state == CONN_STATE_TLS_ACCEPT) {
			conn_start_session(c);
		} else if (c->state == CONN_STATE_STARTTLS) {
			c->state = CONN_STATE_OPEN;
			conn_apply_timeouts(c);
			if (c->h != NULL && c->h->on_tls_ready != NULL)
				c->h->on_tls_ready(c->session);
			if (c->state == CONN_STATE_OPEN) {
				conn_update_reading(c);
				conn_kick(c);
			}
		}
		return;
	}
	bool handshake = c->state == CONN_STATE_TLS_ACCEPT ||
		c->state == CONN_STATE_STARTTLS;
	if ((what & BEV_EVENT_TIMEOUT) != 0) {
		if (handshake) {
			metric_inc(METRIC_TLS_HANDSHAKE_FAILURES);
			conn_finish(c, "tls_timeout");
		} else if ((what & BEV_EVENT_WRITING) != 0 ||
			c->state != CONN_STATE_OPEN) {
			/* the peer stopped reading what we send */
			conn_finish(c, "write_timeout");
		} else {
			metric_inc(METRIC_SESSION_TIMEOUTS);
			if (c->h != NULL && c->h->on_timeout != NULL)
				c->h->on_timeout(c->session);
			else
				conn_begin_close(c, "timeout");
			/* libevent stopped reading on the timeout: restart it */
			if (c->state == CONN_STATE_OPEN)
				conn_update_reading(c);
		}
		return;
	}
	if (handshake && (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF)) != 0) {
		metric_inc(METRIC_TLS_HANDSHAKE_FAILURES);
		unsigned long e = bufferevent_get_openssl_error(c->bev);
		char text[256] = "peer_closed";
		if (e != 0)
			ERR_error_string_n(e, text, sizeof(text));
		log_info("tls.fail", "sid=%s rip=%s error=%s", c->sid, c->rip,
			log_quote(text));
		conn_finish(c, "tls_error");
		return;
	}
	if ((what & BEV_EVENT_ERROR) != 0) {
		conn_finish(c, c->tls ? "tls_error" : "io_error");
		return;
	}
	if ((what & BEV_EVENT_EOF) != 0) {
		if (c->state != CONN_STATE_OPEN) {
			conn_finish(c, c->state == CONN_STATE_CLOSING ?
				c->close_reason : "peer_closed");
			return;
		}
		/* Hand over what is buffered (a pipelined QUIT), then close. */
		c->eof = true;
		conn_update_reading(c);
		conn_process(c);
	}
}

static void
conn_kick_cb(evutil_socket_t fd ATTR_UNUSED, short what ATTR_UNUSED,
	void *context)
{
	struct conn *c = context;
	switch (c->state) {
	case CONN_STATE_CLOSING:
		if (conn_output_pending(c) == 0)
			conn_finish(c, c->close_reason);
		break;
	case CONN_STATE_STARTTLS_FLUSH:
		if (conn_output_pending(c) == 0)
			conn_starttls_switch(c);
		break;
	case CONN_STATE_OPEN:
		if (c->yield_wanted) {
			c->yield_wanted = false;
			if (c->h != NULL && c->h->on_drained != NULL)
				c->h->on_drained(c->session);
			if (c->state != CONN_STATE_OPEN)
				break;
			conn_check_output(c);
		}
		conn_process(c);
		break;
	default:
		break;
	}
}

/* --- each loop's table of connections by id --- */

static size_t
conn_hash(const struct loop *loop, uint64_t id)
{
	/* ids are sequential: the low bits spread well */
	return (size_t)id & (loop->conn_table_size - 1);
}

static void
loop_conn_table_grow(struct loop *loop)
{
	size_t old_size = loop->conn_table_size;
	struct conn **old = loop->conn_table;
	loop->conn_table_size = old_size == 0 ? 256 : old_size * 2;
	loop->conn_table = xcalloc(loop->conn_table_size, sizeof(struct conn *));
	for (size_t i = 0; i < old_size; i++) {
		struct conn *c = old[i], *next;
		for (; c != NULL; c = next) {
			next = c->hnext;
			size_t h = conn_hash(loop, c->id);
			c->hnext = loop->conn_table[h];
			loop->conn_table[h] = c;
		}
	}
	free(old);
}

void
loop_add_conn(struct loop *loop, struct conn *c)
{
	if (loop->conn_count >= loop->conn_table_size)
		loop_conn_table_grow(loop);
	size_t h = conn_hash(loop, c->id);
	c->hnext = loop->conn_table[h];
	loop->conn_table[h] = c;
	c->prev = NULL;
	c->next = loop->conn_list;
	if (loop->conn_list != NULL)
		loop->conn_list->prev = c;
	loop->conn_list = c;
	loop->conn_count++;
	server_conn_count_add(1);
}

void
loop_remove_conn(struct loop *loop, struct conn *c)
{
	struct conn **pp = &loop->conn_table[conn_hash(loop, c->id)];
	while (*pp != c) {
		PASSERT(*pp != NULL);
		pp = &(*pp)->hnext;
	}
	*pp = c->hnext;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		loop->conn_list = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	loop->conn_count--;
	server_conn_count_add(-1);
}

struct conn *
loop_find_conn(struct loop *loop, uint64_t id)
{
	if (loop->conn_table_size == 0)
		return NULL;
	struct conn *c = loop->conn_table[conn_hash(loop, id)];
	while (c != NULL && c->id != id)
		c = c->hnext;
	return c;
}

/* --- accept --- */

static void
conn_refuse(int fd, enum conn_role role, enum guard_refusal why,
	const char *ip)
{
	static const char *const reasons[] = {
		[GUARD_REFUSE_GLOBAL] = "global_limit",
		[GUARD_REFUSE_PER_IP] = "per_ip_limit",
		[GUARD_REFUSE_BANNED] = "auth_ban",
	};
	static const enum metric_id ids[] = {
		[GUARD_REFUSE_GLOBAL] = METRIC_CONN_REJECT_GLOBAL,
		[GUARD_REFUSE_PER_IP] = METRIC_CONN_REJECT_PER_IP,
		[GUARD_REFUSE_BANNED] = METRIC_CONN_REJECT_BANNED,
	};
	const char *line = NULL;
	const char *proto = conn_role_proto(role);

	metric_inc(ids[why]);
	log_info("conn.refuse", "role=%s rip=%s reason=%s",
		conn_role_name(role), ip, reasons[why]);
	/* Implicit-TLS ports cannot say why without a handshake: just close. */
	if (!conn_role_implicit_tls(role)) {
		if (proto[0] == 's')
			line = why == GUARD_REFUSE_BANNED ?
				"421 4.7.0 Too many failed logins, try again later\r\n" :
				"421 4.7.0 Too many connections, try again later\r\n";
		else if (proto[0] == 'p')
			line = "-ERR [SYS/TEMP] Too many connections, try again later\r\n";
		else
			line = "* BYE [UNAVAILABLE] Too many connections, try again later\r\n";
		ssize_t n = send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
		(void)n;
	}
	close(fd);
}

static void
conn_sockaddr_text(const struct sockaddr *sa, char *ip, size_t ip_size,
	int *port_r)
{
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], ip,
				(socklen_t)ip_size);
		} else {
			inet_ntop(AF_INET6, &s6->sin6_addr, ip, (socklen_t)ip_size);
		}
		*port_r = ntohs(s6->sin6_port);
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, ip, (socklen_t)ip_size);
		*port_r = ntohs(s4->sin_port);
	} else {
		snprintf(ip, ip_size, "unknown");
		*port_r = 0;
	}
}

void
conn_accepted(struct loop *loop, int fd, enum conn_role role,
	const struct sockaddr *sa, int salen ATTR_UNUSED)
{
	char rip[INET6_ADDRSTRLEN];
	int rport;

	conn_sockaddr_text(sa, rip, sizeof(rip), &rport);
	enum guard_refusal why = guard_conn_open(rip);
	if (why != GUARD_OK) {
		conn_refuse(fd, role, why, rip);
		return;
	}
	struct conn *c = xcalloc(1, sizeof(*c));
	c->id = atomic_fetch_add(&conn_next_id, 1) + 1;
	snprintf(c->sid, sizeof(c->sid), "%016llx", (unsigned long long)c->id);
	c->loop = loop;
	c->fd = fd;
	c->role = role;
	c->set = settings_current_ref();
	c->line_limit = CONN_DEFAULT_LINE_LIMIT;
	memcpy(c->rip, rip, sizeof(rip));
	c->rport = rport;
	struct sockaddr_storage local;
	socklen_t local_len = sizeof(local);
	if (getsockname(fd, (struct sockaddr *)&local, &local_len) == 0)
		conn_sockaddr_text((struct sockaddr *)&local, c->lip,
			sizeof(c->lip), &c->lport);
	int one = 1;
	/* replies are batched by the loop already; Nagle would only delay */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->kick = event_new(loop->base, -1, 0, conn_kick_cb, c);
	loop_add_conn(loop, c);
	conn_metric_by_proto(role, METRIC_CONN_SMTP, METRIC_CONN_POP3,
		METRIC_CONN_IMAP, 1);
	log_debug("conn.accept", "sid=%s role=%s rip=%s rport=%d", c->sid,
		conn_role_name(role), c->rip, c->rport);

	if (conn_role_implicit_tls(role)) {
		c->state = CONN_STATE_TLS_ACCEPT;
		if (conn_tls_begin(c) < 0) {
			log_error("tls.error", "sid=%s error=cannot_start_tls", c->sid);
			loop_remove_conn(loop, c);
			guard_conn_close(c->rip);
			close(fd);
			event_free(c->kick);
			settings_unref(&c->set);
			free(c);
		}
		return;
	}
	c->bev = bufferevent_socket_new(loop->base, fd, BEV_OPT_DEFER_CALLBACKS);
	PASSERT(c->bev != NULL);
	bufferevent_set_max_single_read(c->bev, CONN_MAX_SINGLE_IO_BYTES);
	bufferevent_set_max_single_write(c->bev, CONN_MAX_SINGLE_IO_BYTES);
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, CONN_OUTPUT_LOW_BYTES, 0);
	bufferevent_enable(c->bev, EV_WRITE);
	conn_start_session(c);
}

void
conn_ids_init(uint64_t seed)
{
	/* high half from the seed: ids (and sids in logs) differ between runs */
	atomic_store(&conn_next_id, seed << 32);
}
