/* sync.c: blocking wrappers (see sync.h). Each call starts the asynchronous
 * operation with a callback that records the result, then runs the
 * session's private event_base until that callback fired. The step timeout
 * of cconn guarantees the loop ends. */
#include "postier.h"

#include <event2/event.h>

#include "core/xmalloc.h"
#include "client/cconn.h"
#include "client/sync.h"

struct sync_state {
	bool done;
	int result;
};

static int
sync_run(struct event_base *base, struct sync_state *st)
{
	while (!st->done) {
		if (event_base_loop(base, EVLOOP_ONCE) < 0) {
			return CLIENT_ERROR;
		}
	}
	return st->result;
}

static struct event_base *
sync_base_new(void)
{
	struct event_base *base = event_base_new();
	PASSERT(base != NULL);
	return base;
}

#define SYNC_CB(proto) \
	static void \
	proto##_sync_cb(struct proto *c ATTR_UNUSED, int result, void *ctx) \
	{ \
		struct sync_state *st = ctx; \
		st->done = true; \
		st->result = result; \
	}

/* Runs one asynchronous call: CALL is an expression using `st`. */
#define SYNC_DO(proto, c, CALL) \
	do { \
		struct sync_state st = { false, CLIENT_ERROR }; \
		CALL; \
		return sync_run(cconn_base(proto##_conn(c)), &st); \
	} while (0)

#define SYNC_NEW_FREE(proto) \
	struct proto * \
	proto##_sync_new(const struct client_opts *opts) \
	{ \
		return proto##_new(sync_base_new(), opts); \
	} \
	void \
	proto##_sync_free(struct proto **cp) \
	{ \
		if (*cp == NULL) \
			return; \
		struct event_base *base = cconn_base(proto##_conn(*cp)); \
		proto##_free(cp); \
		event_base_free(base); \
	}

SYNC_CB(smtpc)
SYNC_CB(pop3c)
SYNC_CB(imapc)
SYNC_NEW_FREE(smtpc)
SYNC_NEW_FREE(pop3c)
SYNC_NEW_FREE(imapc)

/* SMTP */

int
smtpc_sync_connect(struct smtpc *c)
{
	SYNC_DO(smtpc, c, smtpc_connect(c, smtpc_sync_cb, &st));
}

int
smtpc_sync_ehlo(struct smtpc *c, const char *name)
{
	SYNC_DO(smtpc, c, smtpc_ehlo(c, name, smtpc_sync_cb, &st));
}

int
smtpc_sync_starttls(struct smtpc *c)
{
	SYNC_DO(smtpc, c, smtpc_starttls(c, smtpc_sync_cb, &st));
}

int
smtpc_sync_auth(struct smtpc *c, enum smtpc_auth_mech mech, const char *user,
	const char *password)
{
	SYNC_DO(smtpc, c, smtpc_auth(c, mech, user, password, smtpc_sync_cb,
		&st));
}

int
smtpc_sync_open(struct smtpc *c, const char *helo_name, const char *user,
	const char *password)
{
	SYNC_DO(smtpc, c, smtpc_open(c, helo_name, user, password,
		smtpc_sync_cb, &st));
}

int
smtpc_sync_mail(struct smtpc *c, const char *from, size_t size)
{
	SYNC_DO(smtpc, c, smtpc_mail(c, from, size, smtpc_sync_cb, &st));
}

int
smtpc_sync_rcpt(struct smtpc *c, const char *to)
{
	SYNC_DO(smtpc, c, smtpc_rcpt(c, to, smtpc_sync_cb, &st));
}

int
smtpc_sync_data(struct smtpc *c, const void *msg, size_t len)
{
	SYNC_DO(smtpc, c, smtpc_data(c, msg, len, smtpc_sync_cb, &st));
}

int
smtpc_sync_rset(struct smtpc *c)
{
	SYNC_DO(smtpc, c, smtpc_rset(c, smtpc_sync_cb, &st));
}

int
smtpc_sync_quit(struct smtpc *c)
{
	SYNC_DO(smtpc, c, smtpc_quit(c, smtpc_sync_cb, &st));
}

int
smtpc_sync_command(struct smtpc *c, const char *line)
{
	SYNC_DO(smtpc, c, smtpc_command(c, line, smtpc_sync_cb, &st));
}

/* POP3 */

int
pop3c_sync_connect(struct pop3c *c)
{
	SYNC_DO(pop3c, c, pop3c_connect(c, pop3c_sync_cb, &st));
}

int
pop3c_sync_capa(struct pop3c *c)
{
	SYNC_DO(pop3c, c, pop3c_capa(c, pop3c_sync_cb, &st));
}

int
pop3c_sync_stls(struct pop3c *c)
{
	SYNC_DO(pop3c, c, pop3c_stls(c, pop3c_sync_cb, &st));
}

int
pop3c_sync_login(struct pop3c *c, const char *user, const char *password)
{
	SYNC_DO(pop3c, c, pop3c_login(c, user, password, pop3c_sync_cb, &st));
}

int
pop3c_sync_open(struct pop3c *c, const char *user, const char *password)
{
	SYNC_DO(pop3c, c, pop3c_open(c, user, password, pop3c_sync_cb, &st));
}

int
pop3c_sync_stat(struct pop3c *c, unsigned int *count_r, uint64_t *octets_r)
{
	SYNC_DO(pop3c, c, pop3c_stat(c, count_r, octets_r, pop3c_sync_cb,
		&st));
}

int
pop3c_sync_uidl(struct pop3c *c)
{
	SYNC_DO(pop3c, c, pop3c_uidl(c, pop3c_sync_cb, &st));
}

int
pop3c_sync_retr(struct pop3c *c, unsigned int msgno)
{
	SYNC_DO(pop3c, c, pop3c_retr(c, msgno, pop3c_sync_cb, &st));
}

int
pop3c_sync_dele(struct pop3c *c, unsigned int msgno)
{
	SYNC_DO(pop3c, c, pop3c_dele(c, msgno, pop3c_sync_cb, &st));
}

int
pop3c_sync_quit(struct pop3c *c)
{
	SYNC_DO(pop3c, c, pop3c_quit(c, pop3c_sync_cb, &st));
}

int
pop3c_sync_command(struct pop3c *c, const char *line, bool multiline)
{
	SYNC_DO(pop3c, c, pop3c_command(c, line, multiline, pop3c_sync_cb,
		&st));
}

/* IMAP */

int
imapc_sync_connect(struct imapc *c)
{
	SYNC_DO(imapc, c, imapc_connect(c, imapc_sync_cb, &st));
}

int
imapc_sync_capability(struct imapc *c)
{
	SYNC_DO(imapc, c, imapc_capability(c, imapc_sync_cb, &st));
}

int
imapc_sync_starttls(struct imapc *c)
{
	SYNC_DO(imapc, c, imapc_starttls(c, imapc_sync_cb, &st));
}

int
imapc_sync_login(struct imapc *c, const char *user, const char *password)
{
	SYNC_DO(imapc, c, imapc_login(c, user, password, imapc_sync_cb, &st));
}

int
imapc_sync_open(struct imapc *c, const char *user, const char *password)
{
	SYNC_DO(imapc, c, imapc_open(c, user, password, imapc_sync_cb, &st));
}

int
imapc_sync_select(struct imapc *c, const char *mailbox)
{
	SYNC_DO(imapc, c, imapc_select(c, mailbox, imapc_sync_cb, &st));
}

int
imapc_sync_uid_search(struct imapc *c, const char *criteria)
{
	SYNC_DO(imapc, c, imapc_uid_search(c, criteria, imapc_sync_cb, &st));
}

int
imapc_sync_uid_fetch_body(struct imapc *c, uint32_t uid)
{
	SYNC_DO(imapc, c, imapc_uid_fetch_body(c, uid, imapc_sync_cb, &st));
}

int
imapc_sync_uid_store_deleted(struct imapc *c, uint32_t uid)
{
	SYNC_DO(imapc, c, imapc_uid_store_deleted(c, uid, imapc_sync_cb,
		&st));
}

int
imapc_sync_expunge(struct imapc *c)
{
	SYNC_DO(imapc, c, imapc_expunge(c, imapc_sync_cb, &st));
}

int
imapc_sync_logout(struct imapc *c)
{
	SYNC_DO(imapc, c, imapc_logout(c, imapc_sync_cb, &st));
}

int
imapc_sync_command(struct imapc *c, const char *command)
{
	SYNC_DO(imapc, c, imapc_command(c, command, imapc_sync_cb, &st));
}
