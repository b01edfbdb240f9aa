/* imapc.h: asynchronous IMAP4rev1 client session (RFC 3501; STARTTLS; IDLE
 * RFC 2177) on a libevent event_base. Same rules as smtpc.h: one operation
 * at a time, one callback with CLIENT_OK (tagged OK), CLIENT_NEGATIVE (NO or
 * BAD; the session stays usable) or CLIENT_ERROR (imapc_error(); dead).
 * Tags are "a1", "a2", ... For blocking use see sync.h.
 *
 *   imapc_open(c, user, pass, cb, ctx);  connect, greeting, [STARTTLS], LOGIN
 *   imapc_select(c, "INBOX", ...); imapc_uid_search(); imapc_uid_fetch_body();
 *   imapc_uid_store_deleted(); imapc_expunge(); imapc_logout()
 *
 * Not done: AUTHENTICATE (LOGIN is used), COMPRESS, literal+ sending (the
 * client never sends literals: user names and passwords are quoted
 * strings; a password with CR/LF/NUL is refused as CLIENT_ERROR). */
#ifndef CLIENT_IMAPC_H
#define CLIENT_IMAPC_H

#include <stddef.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include "postier.h"
#include "client/client.h"
#include "client/imap_resp.h"

struct imapc;

typedef void imapc_cb(struct imapc *c, int result, void *context);

struct imapc *imapc_new(struct event_base *base, const struct client_opts *opts);
void imapc_free(struct imapc **c);

/* Connects (implicit TLS per opts) and reads the greeting: CLIENT_OK on
 * "* OK" (or PREAUTH), CLIENT_NEGATIVE on "* BYE". */
void imapc_connect(struct imapc *c, imapc_cb *cb, void *context);
/* CAPABILITY; imapc_has_capa() then answers. The greeting's or LOGIN's
 * [CAPABILITY ...] response code is used too when present. */
void imapc_capability(struct imapc *c, imapc_cb *cb, void *context);
/* STARTTLS and the handshake. */
void imapc_starttls(struct imapc *c, imapc_cb *cb, void *context);
/* LOGIN user password (copied, sent as quoted strings). */
void imapc_login(struct imapc *c, const char *user, const char *password,
	imapc_cb *cb, void *context);
/* connect + greeting + (STARTTLS when opts->tls is STARTTLS) + LOGIN when
 * user != NULL. Fills imapc_timing(). */
void imapc_open(struct imapc *c, const char *user, const char *password,
	imapc_cb *cb, void *context);
/* SELECT mailbox; on CLIENT_OK imapc_exists() and imapc_uidnext() hold the
 * values the server announced. */
void imapc_select(struct imapc *c, const char *mailbox, imapc_cb *cb,
	void *context);
/* UID SEARCH criteria (e.g. "ALL", "UNSEEN", "UID 5:*"); on CLIENT_OK
 * imapc_uids() has the result. */
void imapc_uid_search(struct imapc *c, const char *criteria, imapc_cb *cb,
	void *context);
/* UID FETCH uid BODY.PEEK[]; on CLIENT_OK imapc_resp()->literals holds the
 * message (empty when the UID no longer exists). */
void imapc_uid_fetch_body(struct imapc *c, uint32_t uid, imapc_cb *cb,
	void *context);
/* UID STORE uid +FLAGS.SILENT (\Deleted). */
void imapc_uid_store_deleted(struct imapc *c, uint32_t uid, imapc_cb *cb,
	void *context);
void imapc_expunge(struct imapc *c, imapc_cb *cb, void *context);
void imapc_noop(struct imapc *c, imapc_cb *cb, void *context);
/* LOGOUT; the session can then only be freed. */
void imapc_logout(struct imapc *c, imapc_cb *cb, void *context);
/* Any command (without tag and CRLF), e.g. "FETCH 1:* (FLAGS)". */
void imapc_command(struct imapc *c, const char *command, imapc_cb *cb,
	void *context);

/* IDLE (RFC 2177): sends IDLE and waits for the "+" (CLIENT_OK). Then
 * imapc_idle_wait() calls back on the next untagged response (CLIENT_OK,
 * imapc_resp()->text has it, e.g. "3 EXISTS") or CLIENT_ERROR on timeout;
 * imapc_idle_done() sends DONE and waits for the tagged OK. The per-step
 * timeout applies to each wait: set it with cconn_set_timeout_ms(). */
void imapc_idle(struct imapc *c, imapc_cb *cb, void *context);
void imapc_idle_wait(struct imapc *c, imapc_cb *cb, void *context);
void imapc_idle_done(struct imapc *c, imapc_cb *cb, void *context);

/* The last response (borrowed, valid until the next operation). */
const struct imap_resp *imapc_resp(const struct imapc *c);
bool imapc_has_capa(const struct imapc *c, const char *capa);
uint32_t imapc_exists(const struct imapc *c);
uint32_t imapc_uidnext(const struct imapc *c);
/* UIDs of the last UID SEARCH (borrowed). */
const uint32_t *imapc_uids(const struct imapc *c, size_t *count_r);
const char *imapc_step(const struct imapc *c);
const char *imapc_error(const struct imapc *c);
struct client_timing *imapc_timing(struct imapc *c);
bool imapc_is_tls(const struct imapc *c);
SSL *imapc_ssl(const struct imapc *c);
struct cconn *imapc_conn(struct imapc *c);

#endif
