/* conn.h: one client connection as protocol sessions see it.
 *
 * The runtime (server.c, conn.c) accepts a socket on a listener, optionally
 * does implicit TLS, then calls the protocol's start function (protocols.h)
 * on the loop thread that owns the connection. From then on the session gets
 * events through struct conn_handler and never sees libevent or OpenSSL.
 *
 * Threading: a conn and its session belong to one loop thread. Every function
 * here must be called on that thread. Work for other threads goes through
 * worker_submit() (loop.h), whose result comes back on this thread by
 * connection id, never by pointer.
 *
 * Input: by default the conn splits input into lines (LF-terminated, the CR
 * before it kept out of len) and calls on_line(). A line longer than the
 * limit is not buffered: on_line() gets too_long = true once, with the first
 * max_line_bytes bytes, and the rest up to the next LF is discarded (memory
 * stays bounded even for a peer that never sends LF). conn_read_bytes(c, n)
 * switches to raw mode for the next n bytes (IMAP literals), delivered by
 * on_data() in pieces as they arrive, then back to lines.
 *
 * Output: conn_write() queues bytes; they are flushed when the loop runs,
 * which naturally batches pipelined replies (RFC 2920). When more than the
 * high watermark is queued the conn stops reading from the peer until the
 * output falls below the low watermark; on_drained() is then called, so long
 * FETCH/RETR output can be produced in pieces.
 */
#ifndef MAILSERVER_CONN_H
#define MAILSERVER_CONN_H

#include <stddef.h>
#include <stdint.h>
#include "postier.h"
#include "core/buf.h"

struct conn;
struct loop;
struct postierd_settings;

/* The listener a connection came in on. */
enum conn_role {
	CONN_ROLE_SMTP,        /* port 25: relay-less reception, AUTH optional */
	CONN_ROLE_SUBMISSION,  /* 587: AUTH required (RFC 6409) */
	CONN_ROLE_SUBMISSIONS, /* 465: implicit TLS, AUTH required (RFC 8314) */
	CONN_ROLE_POP3,
	CONN_ROLE_POP3S,
	CONN_ROLE_IMAP,
	CONN_ROLE_IMAPS,
	CONN_ROLE_COUNT
};

struct conn_handler {
	/* A complete input line without its CRLF/LF; borrowed until return.
	 * For a complete line, line[len] is the first byte of its terminator:
	 * '\r' for CRLF, '\n' for a bare LF (SMTP DATA tells them apart).
	 * too_long: the line exceeded the limit (see above); line[len] is then
	 * not readable. */
	void (*on_line)(void *session, const char *line, size_t len,
		bool too_long);
	/* Raw bytes after conn_read_bytes(); borrowed until return. */
	void (*on_data)(void *session, const char *data, size_t len);
	/* Output fell below the low watermark (optional). */
	void (*on_drained)(void *session);
	/* No input for the timeout set with conn_set_timeout(). The session
	 * replies and closes (the conn does not close by itself). */
	void (*on_timeout)(void *session);
	/* conn_starttls() finished the handshake. */
	void (*on_tls_ready)(void *session);
	/* The connection is gone (peer closed, I/O or TLS error, or after
	 * conn_close() flushed). The session frees itself here; the conn is
	 * freed after this returns. reason is a short token for logs
	 * ("peer_closed", "io_error", "tls_error", "closed"). */
	void (*on_closed)(void *session, const char *reason);
};

/* Installs the session's handler; session is passed back to every callback.
 * Called from the protocol start function. */
void conn_set_handler(struct conn *c, const struct conn_handler *h,
	void *session);

void conn_write(struct conn *c, const void *data, size_t len);
void conn_write_str(struct conn *c, const char *s);
/* A message on its way out without copies: a reference-counted buffer of
 * which conn_write_blob() queues a range by reference. The creator holds
 * one reference; each queued range holds one until it has been sent (or the
 * connection is gone). Not to be changed while referenced. Loop thread
 * only, like the conn. */
struct conn_blob {
	unsigned int refs;
	struct buf text;
};
struct conn_blob *conn_blob_new(void);
void conn_blob_unref(struct conn_blob **blob);
/* Queues text[off, off + len) of blob (copied when small). */
void conn_write_blob(struct conn *c, struct conn_blob *blob, size_t off,
	size_t len);
void conn_printf(struct conn *c, const char *fmt, ...) ATTR_PRINTF(2, 3);
/* Bytes queued for the peer and not yet sent. */
size_t conn_output_pending(const struct conn *c);
/* Calls on_drained() at the loop's next turn, after the I/O of the other
 * connections that is ready by then: a long command (SEARCH over message
 * text) runs in slices instead of holding the loop. */
void conn_yield(struct conn *c);

/* Stops (true) or resumes (false) delivering input events. Input already
 * buffered stays buffered; on resume it is delivered from the loop, never
 * from inside conn_pause_input() itself. Sessions pause while an
 * asynchronous step (directory look-up, group commit) is in flight so that
 * pipelined commands are handled in order. */
void conn_pause_input(struct conn *c, bool paused);

/* Longest line accepted, terminator included (default 1000, RFC 5321
 * 4.5.3.1.6). */
void conn_set_line_limit(struct conn *c, size_t max_line_bytes);
/* The next n bytes go to on_data() (n > 0), then lines again. */
void conn_read_bytes(struct conn *c, size_t n);
/* Idle timeout: on_timeout() after this long without input (0 = none). */
void conn_set_timeout(struct conn *c, long long timeout_ms);

/* Starts TLS on a plain connection after the session queued its "go ahead"
 * reply (which is flushed first). Input buffered before the handshake is
 * discarded (RFC 3207 4: a client must not pipeline past STARTTLS).
 * on_tls_ready() follows on success, on_closed() on failure. Returns -1 if TLS
 * is not configured or already active (nothing changes). */
int conn_starttls(struct conn *c);
bool conn_is_tls(const struct conn *c);
/* Whether TLS is configured at all (to offer STARTTLS). */
bool conn_tls_available(const struct conn *c);
/* "TLSv1.3 TLS_AES_256_GCM_SHA384" style text for Received headers and logs,
 * or NULL when not TLS. Borrowed, valid while the conn lives. */
const char *conn_tls_description(const struct conn *c);

/* Flushes queued output, then closes; on_closed(reason="closed") follows
 * from the loop. Further writes are dropped. */
void conn_close(struct conn *c);

/* Identity. sid is the 16-hex-digit session id used in every log line. */
uint64_t conn_id(const struct conn *c);
const char *conn_sid(const struct conn *c);
const char *conn_remote_ip(const struct conn *c);
int conn_remote_port(const struct conn *c);
const char *conn_local_ip(const struct conn *c);
int conn_local_port(const struct conn *c);
enum conn_role conn_role(const struct conn *c);
/* "smtp", "submission", "submissions", "pop3", "pop3s", "imap", "imaps" */
const char *conn_role_name(enum conn_role role);
/* The protocol family of a role: "smtp", "pop3" or "imap". */
const char *conn_role_proto(enum conn_role role);
struct loop *conn_loop(const struct conn *c);
/* The settings this connection started with (reference held by the conn). */
const struct postierd_settings *conn_settings(const struct conn *c);
/* True while the server drains (SIGTERM): sessions finish the transaction
 * in progress, then close politely (SMTP 421, IMAP BYE). */
bool conn_server_draining(const struct conn *c);

#endif
