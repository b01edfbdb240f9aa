/* smtpc.h: asynchronous SMTP / submission client session (RFC 5321, STARTTLS
 * RFC 3207, AUTH PLAIN/LOGIN RFC 4954/4616) on a libevent event_base. One
 * operation at a time; each ends with one callback call carrying CLIENT_OK,
 * CLIENT_NEGATIVE or CLIENT_ERROR (client.h). The callback runs from the
 * event loop and may start the next operation or free the session.
 * For a blocking, one-session-at-a-time use see sync.h.
 *
 *   c = smtpc_new(base, &opts);
 *   smtpc_open(c, "client.example", user, pass, opened_cb, ctx);
 *     -> smtpc_mail(), smtpc_rcpt()..., smtpc_data(), smtpc_quit()
 *
 * smtpc_send_message() runs a whole transaction and pipelines MAIL, RCPT
 * and DATA (RFC 2920) when the server advertises PIPELINING;
 * smtpc_send_message_iov() takes the message as borrowed iovecs and can
 * pipeline the next transaction's commands after the end of data.
 * Not done: CHUNKING/BDAT, SIZE checks against the EHLO limit (the server
 * refuses oversize itself). */
#ifndef CLIENT_SMTPC_H
#define CLIENT_SMTPC_H

#include <stddef.h>
#include <sys/uio.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include "postier.h"
#include "client/client.h"
#include "client/smtp_reply.h"

struct smtpc;

typedef void smtpc_cb(struct smtpc *c, int result, void *context);

enum smtpc_auth_mech {
	SMTPC_AUTH_AUTO,	/* PLAIN if advertised, else LOGIN */
	SMTPC_AUTH_PLAIN,
	SMTPC_AUTH_LOGIN,
};

/* base: borrowed, must outlive the session. opts: copied (see client.h). */
struct smtpc *smtpc_new(struct event_base *base, const struct client_opts *opts);
/* Closes without QUIT and frees; *c = NULL. Safe inside a callback. */
void smtpc_free(struct smtpc **c);

/* Connects (implicit TLS when opts->tls says so) and reads the greeting;
 * CLIENT_OK on 220. */
void smtpc_connect(struct smtpc *c, smtpc_cb *cb, void *context);
/* EHLO name; CLIENT_OK on 250, the extensions are then queryable with
 * smtpc_has_ext(). */
void smtpc_ehlo(struct smtpc *c, const char *name, smtpc_cb *cb, void *context);
/* HELO name (for servers without ESMTP). */
void smtpc_helo(struct smtpc *c, const char *name, smtpc_cb *cb, void *context);
/* STARTTLS and the handshake; CLIENT_OK when TLS is up (then EHLO again).
 * A 4xx/5xx to STARTTLS gives CLIENT_NEGATIVE. */
void smtpc_starttls(struct smtpc *c, smtpc_cb *cb, void *context);
/* AUTH with user and password (copied); CLIENT_OK on 235. */
void smtpc_auth(struct smtpc *c, enum smtpc_auth_mech mech, const char *user,
	const char *password, smtpc_cb *cb, void *context);
/* Connect + greeting + EHLO + (STARTTLS + EHLO when opts->tls is
 * CLIENT_TLS_STARTTLS) + (AUTH when user != NULL). CLIENT_NEGATIVE when any
 * step got a negative reply (smtpc_reply() has it, smtpc_step() names the
 * step). Fills smtpc_timing(). */
void smtpc_open(struct smtpc *c, const char *helo_name, const char *user,
	const char *password, smtpc_cb *cb, void *context);
/* MAIL FROM:<from> (from may be ""); size > 0 adds SIZE=size when the
 * server advertises SIZE. CLIENT_OK on 250. */
void smtpc_mail(struct smtpc *c, const char *from, size_t size, smtpc_cb *cb,
	void *context);
/* RCPT TO:<to>; CLIENT_OK on 250/251. */
void smtpc_rcpt(struct smtpc *c, const char *to, smtpc_cb *cb, void *context);
/* DATA, then the message (dot-stuffed here, RFC 5321 4.5.2; a missing final
 * CRLF is added) and "."; CLIENT_OK on 250 to the end of data,
 * CLIENT_NEGATIVE on a negative reply to DATA or to the end of data. The
 * message is copied before the call returns. */
void smtpc_data(struct smtpc *c, const void *msg, size_t len, smtpc_cb *cb,
	void *context);
/* Same as smtpc_data() without copying msg when it needs no dot-stuffing:
 * msg is borrowed and must stay unchanged until the callback fires (the
 * load generator sends 140 KB messages this way, from per-connection
 * buffers). */
void smtpc_data_borrow(struct smtpc *c, const void *msg, size_t len,
	smtpc_cb *cb, void *context);
/* A whole transaction: MAIL FROM:<from> (SIZE=size when advertised and
 * size > 0), RCPT TO for each of the n_rcpts addresses, DATA and the
 * message; the commands go in one write when the server advertises
 * PIPELINING (RFC 2920), else one at a time. CLIENT_OK when every
 * recipient and the end of data got a positive reply; CLIENT_NEGATIVE when
 * MAIL, every RCPT or DATA was refused (nothing sent; smtpc_step() says
 * which), or when only some recipients were refused (the message went to
 * the others; smtpc_step() is "rcpt"). Strings are copied; msg is copied,
 * or with borrow = true borrowed as in smtpc_data_borrow(). */
void smtpc_send_message(struct smtpc *c, const char *from, size_t size,
	const char *const *rcpts, unsigned int n_rcpts, const void *msg,
	size_t len, bool borrow, smtpc_cb *cb, void *context);

/* A transaction's envelope for smtpc_send_message_iov(): strings and array
 * borrowed for the call only. */
struct smtpc_envelope {
	const char *from;
	size_t size;		/* SIZE=size when advertised and > 0 */
	const char *const *rcpts;
	unsigned int n_rcpts;
};

/* smtpc_send_message() with the message as msg_iovcnt buffers, borrowed
 * (the bytes and the iovec array) until the callback fires. The caller
 * guarantees that it needs no dot-stuffing: no line starts with "."
 * (debug builds check it; nothing is scanned otherwise). A missing final
 * CRLF is added.
 * next (may be NULL) is the envelope of the transaction the caller will
 * send after this one on c. When the server advertises PIPELINING, its
 * MAIL, RCPT and DATA go in the same write as this end of data (RFC 2920
 * 3.1) and smtpc_next_sent() turns true; then the next call on c must be
 * smtpc_send_message_iov() with an equal envelope (its commands are not
 * sent again; a different one aborts), or smtpc_free(). They are not sent
 * when this transaction ends before its message does (MAIL, every RCPT or
 * DATA refused). */
void smtpc_send_message_iov(struct smtpc *c, const struct smtpc_envelope *env,
	const struct iovec *msg, int msg_iovcnt,
	const struct smtpc_envelope *next, smtpc_cb *cb, void *context);
/* Did the last smtpc_send_message_iov() send the next transaction's
 * commands? */
bool smtpc_next_sent(const struct smtpc *c);
void smtpc_rset(struct smtpc *c, smtpc_cb *cb, void *context);
void smtpc_noop(struct smtpc *c, smtpc_cb *cb, void *context);
/* QUIT; CLIENT_OK on 221. The session can then only be freed. */
void smtpc_quit(struct smtpc *c, smtpc_cb *cb, void *context);
/* Any command line (without CRLF); CLIENT_OK on 2xx/3xx. */
void smtpc_command(struct smtpc *c, const char *line, smtpc_cb *cb,
	void *context);

/* The last reply (borrowed, valid until the next operation). code 0 when
 * the last operation got none. */
const struct smtp_reply *smtpc_reply(const struct smtpc *c);
/* Does the last EHLO reply advertise ext (e.g. "STARTTLS", "AUTH", "SIZE")?
 * *param_r (may be NULL) gets its parameters, NUL-terminated, borrowed. */
bool smtpc_has_ext(const struct smtpc *c, const char *ext,
	const char **param_r);
/* Name of the last step run ("connect", "tls", "greeting", "ehlo",
 * "starttls", "auth", "mail", "rcpt", "data", "data-end", ...). */
const char *smtpc_step(const struct smtpc *c);
const char *smtpc_error(const struct smtpc *c);
struct client_timing *smtpc_timing(struct smtpc *c);
bool smtpc_is_tls(const struct smtpc *c);
/* The SSL after TLS started (borrowed), for the peer certificate. */
SSL *smtpc_ssl(const struct smtpc *c);
struct cconn *smtpc_conn(struct smtpc *c);

#endif
