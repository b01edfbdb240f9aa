/* pop3c.h: asynchronous POP3 client session (RFC 1939, CAPA RFC 2449, STLS
 * RFC 2595, AUTH PLAIN RFC 5034) on a libevent event_base. Same rules as
 * smtpc.h: one operation at a time, one callback with CLIENT_OK (+OK),
 * CLIENT_NEGATIVE (-ERR; the session stays usable) or CLIENT_ERROR (see
 * pop3c_error(); the session is dead). For blocking use see sync.h.
 *
 *   pop3c_open(c, user, pass, cb, ctx);   connect, greeting, [STLS], USER/PASS
 *   pop3c_stat(), pop3c_uidl(), pop3c_retr(), pop3c_dele(), pop3c_quit() */
#ifndef CLIENT_POP3C_H
#define CLIENT_POP3C_H

#include <stddef.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include "postier.h"
#include "client/client.h"
#include "client/pop3_reply.h"

struct pop3c;

typedef void pop3c_cb(struct pop3c *c, int result, void *context);

/* One line of a UIDL listing (RFC 1939 7). */
struct pop3c_uidl {
	unsigned int msgno;
	char uid[71];		/* RFC 1939: 1 to 70 characters */
};

struct pop3c *pop3c_new(struct event_base *base, const struct client_opts *opts);
void pop3c_free(struct pop3c **c);

/* Connects (implicit TLS per opts) and reads the +OK greeting. */
void pop3c_connect(struct pop3c *c, pop3c_cb *cb, void *context);
/* CAPA; the capability lines are then in pop3c_reply()->body and
 * pop3c_has_capa() answers. */
void pop3c_capa(struct pop3c *c, pop3c_cb *cb, void *context);
/* STLS and the TLS handshake. */
void pop3c_stls(struct pop3c *c, pop3c_cb *cb, void *context);
/* USER then PASS (copied); CLIENT_OK when both got +OK. */
void pop3c_login(struct pop3c *c, const char *user, const char *password,
	pop3c_cb *cb, void *context);
/* connect + greeting + (STLS when opts->tls is STARTTLS) + login when
 * user != NULL. Fills pop3c_timing(). */
void pop3c_open(struct pop3c *c, const char *user, const char *password,
	pop3c_cb *cb, void *context);
/* STAT; on CLIENT_OK *count_r and *octets_r (pointers kept until the
 * callback) hold the maildrop size. */
void pop3c_stat(struct pop3c *c, unsigned int *count_r, uint64_t *octets_r,
	pop3c_cb *cb, void *context);
/* UIDL without argument; on CLIENT_OK pop3c_uidl_list() has the listing. */
void pop3c_uidl(struct pop3c *c, pop3c_cb *cb, void *context);
/* RETR msgno; on CLIENT_OK pop3c_reply()->body holds the message
 * (un-stuffed, CRLF line ends). */
void pop3c_retr(struct pop3c *c, unsigned int msgno, pop3c_cb *cb,
	void *context);
void pop3c_dele(struct pop3c *c, unsigned int msgno, pop3c_cb *cb,
	void *context);
void pop3c_noop(struct pop3c *c, pop3c_cb *cb, void *context);
/* QUIT (commits DELEs, RFC 1939 6); the session can then only be freed. */
void pop3c_quit(struct pop3c *c, pop3c_cb *cb, void *context);
/* Any command line without CRLF; multiline: +OK carries a body. */
void pop3c_command(struct pop3c *c, const char *line, bool multiline,
	pop3c_cb *cb, void *context);

/* The last response (borrowed, valid until the next operation). */
const struct pop3_reply *pop3c_reply(const struct pop3c *c);
/* The listing of the last successful UIDL (borrowed). */
const struct pop3c_uidl *pop3c_uidl_list(const struct pop3c *c,
	size_t *count_r);
/* Did the last CAPA list capa (case-insensitive first word)? */
bool pop3c_has_capa(const struct pop3c *c, const char *capa);
const char *pop3c_step(const struct pop3c *c);
const char *pop3c_error(const struct pop3c *c);
struct client_timing *pop3c_timing(struct pop3c *c);
bool pop3c_is_tls(const struct pop3c *c);
SSL *pop3c_ssl(const struct pop3c *c);
struct cconn *pop3c_conn(struct pop3c *c);

#endif
