/* cconn.h: one client connection on a libevent event_base: TCP connect with
 * a timeout, TLS (implicit or upgraded after STARTTLS) through
 * bufferevent_openssl, writes, and reads driven by an incremental reply
 * parser. The protocol clients (smtpc, pop3c, imapc) are built on it; other
 * code uses those instead.
 *
 * Only one operation runs at a time; its callback fires exactly once, from
 * the event loop (never from inside the call that started it), and may start
 * the next operation or free the connection. Nothing here blocks except
 * host-name resolution in cconn_connect() (getaddrinfo(); IP literals do not
 * block). */
#ifndef CLIENT_CCONN_H
#define CLIENT_CCONN_H

#include <stddef.h>
#include <sys/uio.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include "postier.h"
#include "client/client.h"

struct cconn;

/* result: CLIENT_OK or CLIENT_ERROR (error text in cconn_error()). For
 * cconn_read(), CLIENT_OK means the parser returned 1. */
typedef void cconn_cb(struct cconn *cc, int result, void *context);

/* An incremental parser: same contract as smtp_reply_parse() and friends. */
typedef int cconn_parse_fn(void *parser, const void *data, size_t len,
	size_t *used_r, const char **error_r);

/* base borrowed (must outlive the connection); opts copied. */
struct cconn *cconn_new(struct event_base *base, const struct client_opts *opts);
/* Closes the connection (no goodbye) and frees it; *cc set to NULL. Pending
 * callbacks are dropped. Safe from inside a callback. */
void cconn_free(struct cconn **cc);

/* Resolves, connects (timing.connect_us) and, with CLIENT_TLS_IMPLICIT,
 * completes the TLS handshake (timing.tls_us). */
void cconn_connect(struct cconn *cc, cconn_cb *cb, void *context);
/* TLS handshake over the connected socket (after STARTTLS was accepted).
 * Input already buffered before the handshake is an error (RFC 3207 5: an
 * injection attempt). */
void cconn_starttls(struct cconn *cc, cconn_cb *cb, void *context);
/* Queues bytes to send (copied). Never blocks. */
void cconn_write(struct cconn *cc, const void *data, size_t len);
/* Adds data to the output without copying; free_fn(data, len, ctx) runs when
 * libevent is done with it. */
void cconn_write_ref(struct cconn *cc, const void *data, size_t len,
	void (*free_fn)(const void *data, size_t len, void *ctx), void *ctx);
/* Queues the iovcnt buffers of iov, borrowed (unchanged until the
 * connection has sent them: in practice until the reply to them; the iovec
 * array itself only for the call), then tail (copied), in one system call
 * when the socket takes them. */
void cconn_writev_borrowed(struct cconn *cc, const struct iovec *iov,
	int iovcnt, const void *tail, size_t tail_len);
/* Feeds input to parse(parser, ...) until it returns 1 (cb CLIENT_OK) or -1
 * (CLIENT_ERROR, the parser's error), or the step times out or the peer
 * closes (CLIENT_ERROR). Bytes after a complete reply stay buffered. */
void cconn_read(struct cconn *cc, cconn_parse_fn *parse, void *parser,
	cconn_cb *cb, void *context);
/* Cancels a running cconn_read() (its callback will not fire); used to stop
 * waiting, e.g. to end IMAP IDLE. */
void cconn_cancel(struct cconn *cc);
/* Sets the per-step timeout for the next operations (ms > 0). */
void cconn_set_timeout_ms(struct cconn *cc, int timeout_ms);

/* The last error, e.g. "connect: Connection refused", "timeout". */
const char *cconn_error(const struct cconn *cc);
/* Sets the error text (for protocol layers reporting their own errors). */
void cconn_set_error(struct cconn *cc, const char *fmt, ...) ATTR_PRINTF(2, 3);
struct client_timing *cconn_timing(struct cconn *cc);
bool cconn_is_tls(const struct cconn *cc);
/* The connection's SSL after a handshake (borrowed), else NULL. Use it with
 * SSL_get0_peer_certificate() and tls_client_verify(). */
SSL *cconn_ssl(const struct cconn *cc);
const struct client_opts *cconn_opts(const struct cconn *cc);
struct event_base *cconn_base(const struct cconn *cc);

#endif
