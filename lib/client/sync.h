/* sync.h: blocking use of the SMTP/POP3/IMAP clients, for the Nagios plugins
 * and probes. A session made here owns a private event_base; each call runs
 * it until the operation completes or its step times out (opts.timeout_ms,
 * or cconn_set_timeout_ms(*_conn(c), ms) for what remains of a plugin's -t
 * budget). Every call blocks and returns the same value the asynchronous
 * callback would get: CLIENT_OK (1), CLIENT_NEGATIVE (0) or CLIENT_ERROR
 * (-1). Replies, errors, timings and the TLS peer are read with the
 * asynchronous accessors (smtpc_reply(), smtpc_error(), smtpc_timing(),
 * smtpc_ssl(), ...).
 *
 *   struct smtpc *c = smtpc_sync_new(&opts);
 *   if (smtpc_sync_open(c, "nagios", NULL, NULL) != CLIENT_OK)
 *           printf("%s\n", smtpc_error(c));
 *   smtpc_sync_free(&c);
 */
#ifndef CLIENT_SYNC_H
#define CLIENT_SYNC_H

#include "postier.h"
#include "client/client.h"
#include "client/smtpc.h"
#include "client/pop3c.h"
#include "client/imapc.h"

struct smtpc *smtpc_sync_new(const struct client_opts *opts);
/* Frees the session and its event_base; *c = NULL. */
void smtpc_sync_free(struct smtpc **c);
int smtpc_sync_connect(struct smtpc *c);
int smtpc_sync_ehlo(struct smtpc *c, const char *name);
int smtpc_sync_starttls(struct smtpc *c);
int smtpc_sync_auth(struct smtpc *c, enum smtpc_auth_mech mech,
	const char *user, const char *password);
int smtpc_sync_open(struct smtpc *c, const char *helo_name, const char *user,
	const char *password);
int smtpc_sync_mail(struct smtpc *c, const char *from, size_t size);
int smtpc_sync_rcpt(struct smtpc *c, const char *to);
int smtpc_sync_data(struct smtpc *c, const void *msg, size_t len);
int smtpc_sync_rset(struct smtpc *c);
int smtpc_sync_quit(struct smtpc *c);
int smtpc_sync_command(struct smtpc *c, const char *line);

struct pop3c *pop3c_sync_new(const struct client_opts *opts);
void pop3c_sync_free(struct pop3c **c);
int pop3c_sync_connect(struct pop3c *c);
int pop3c_sync_capa(struct pop3c *c);
int pop3c_sync_stls(struct pop3c *c);
int pop3c_sync_login(struct pop3c *c, const char *user, const char *password);
int pop3c_sync_open(struct pop3c *c, const char *user, const char *password);
int pop3c_sync_stat(struct pop3c *c, unsigned int *count_r,
	uint64_t *octets_r);
int pop3c_sync_uidl(struct pop3c *c);
int pop3c_sync_retr(struct pop3c *c, unsigned int msgno);
int pop3c_sync_dele(struct pop3c *c, unsigned int msgno);
int pop3c_sync_quit(struct pop3c *c);
int pop3c_sync_command(struct pop3c *c, const char *line, bool multiline);

struct imapc *imapc_sync_new(const struct client_opts *opts);
void imapc_sync_free(struct imapc **c);
int imapc_sync_connect(struct imapc *c);
int imapc_sync_capability(struct imapc *c);
int imapc_sync_starttls(struct imapc *c);
int imapc_sync_login(struct imapc *c, const char *user, const char *password);
int imapc_sync_open(struct imapc *c, const char *user, const char *password);
int imapc_sync_select(struct imapc *c, const char *mailbox);
int imapc_sync_uid_search(struct imapc *c, const char *criteria);
int imapc_sync_uid_fetch_body(struct imapc *c, uint32_t uid);
int imapc_sync_uid_store_deleted(struct imapc *c, uint32_t uid);
int imapc_sync_expunge(struct imapc *c);
int imapc_sync_logout(struct imapc *c);
int imapc_sync_command(struct imapc *c, const char *command);

#endif
