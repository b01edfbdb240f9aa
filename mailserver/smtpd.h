/* smtpd.h: the SMTP server session, shared between smtpd.c (session,
 * command table, replies, states), smtpd_auth.c (AUTH) and smtpd_data.c
 * (DATA and the commit). Private to postierd's SMTP code: the runtime only
 * knows smtpd_session_start() (protocols.h).
 *
 * Threading: a session lives on its connection's loop thread; asynchronous
 * steps (directory look-ups, password checks, the group commit) pause the
 * connection's input and come back on that thread with the conn, or with
 * NULL when it closed meanwhile (then the session is gone: never touched). */
#ifndef MAILSERVER_SMTPD_H
#define MAILSERVER_SMTPD_H

#include <stdint.h>
#include <time.h>
#include "postier.h"
#include "core/buf.h"
#include "proto/smtp_auth.h"
#include "proto/smtp_cmd.h"
#include "proto/smtp_data.h"
#include "conn.h"

struct postierd_settings;
struct queue_txn;

enum smtpd_state {
	SMTPD_STATE_INIT,   /* greeting sent, no HELO/EHLO yet */
	SMTPD_STATE_READY,  /* HELO/EHLO done, no transaction */
	SMTPD_STATE_MAIL,   /* MAIL accepted, no recipient yet */
	SMTPD_STATE_RCPT,   /* at least one recipient accepted */
	SMTPD_STATE_DATA,   /* reading the message text */
	SMTPD_STATE_BDAT,   /* between BDAT chunks (RFC 3030) */
	SMTPD_STATE_AUTH,   /* reading SASL responses */
	SMTPD_STATE_TLS,    /* STARTTLS handshake in progress */
	SMTPD_STATE_QUIT,   /* closing */
};

enum smtpd_auth_step {
	SMTPD_AUTH_STEP_NONE,
	SMTPD_AUTH_STEP_PLAIN,          /* waiting for the PLAIN message */
	SMTPD_AUTH_STEP_LOGIN_USER,     /* waiting for the LOGIN username */
	SMTPD_AUTH_STEP_LOGIN_PASSWORD, /* waiting for the LOGIN password */
};

struct smtpd_rcpt {
	char *address; /* canonical, as accepted */
	char *maildir; /* from the directory */
};

/* One mail transaction: MAIL to the reply after DATA. */
struct smtpd_txn {
	struct smtp_path from;
	uint64_t declared_size;   /* SIZE=, 0 when absent */
	struct smtpd_rcpt *rcpts; /* accepted recipients */
	unsigned int n_rcpts;
	unsigned int n_rcpt_cmds; /* RCPT commands, accepted or not */
	struct timespec started;  /* MAIL accepted */
	struct queue_txn *qtxn;   /* from DATA on */
	bool write_failed;
	bool bdat;                /* the message comes in BDAT chunks */
	uint64_t bdat_octets;     /* chunk octets received so far */
};

struct smtpd_session {
	struct conn *conn;
	const struct postierd_settings *set; /* the conn's; borrowed */
	enum conn_role role;
	enum smtpd_state state;
	const char *sid;

	char helo[SMTP_DOMAIN_MAX_BYTES + 1];
	bool esmtp;
	char *auth_user;          /* canonical address once authenticated */
	unsigned int errors;      /* 5xx replies so far */
	unsigned int messages;    /* accepted in this session */
	unsigned int req_id;      /* the asynchronous step in flight */
	bool busy;                /* an asynchronous step is in flight */
	bool last_in_group;       /* the previous command must end a group */
	bool pipelining_logged;
	const char *close_reason; /* ours, for smtp.disconnect */
	const char *cur_verb;     /* for reply logs */

	struct smtpd_txn txn;

	/* DATA */
	struct smtp_data_reader reader;
	struct buf data;          /* message bytes not yet given to the queue */
	uint64_t bdat_left;       /* bytes of the current chunk still to come */
	bool bdat_last;           /* the current chunk is the last */
	const struct smtp_error *bdat_refuse; /* answer once the chunk is read */

	/* AUTH */
	enum smtpd_auth_step auth_step;
	struct buf auth_buf;      /* decoded secrets: wiped after use */
	char *login_user;

	struct buf reply;         /* reply text being formatted */
	struct buf reply_out;     /* the reply's lines as sent */
};

/* Writes one reply: "code esc text" (esc may be NULL: greeting, EHLO/HELO
 * and 3xx), lines of text separated by '\n' become a multi-line reply.
 * Logs replies of 400 and up, counts protocol errors, and closes the
 * session with 421 after smtp.max_errors 5xx replies. */
void smtpd_reply(struct smtpd_session *s, int code, const char *esc,
	const char *fmt, ...) ATTR_PRINTF(4, 5);
void smtpd_reply_error(struct smtpd_session *s, const struct smtp_error *err);
/* The one place the state changes; logs old -> new (debug). */
void smtpd_set_state(struct smtpd_session *s, enum smtpd_state state);
const char *smtpd_state_name(enum smtpd_state state);
/* Ends the session politely: reply (if code > 0), then close; reason goes
 * into smtp.disconnect. */
void smtpd_close(struct smtpd_session *s, const char *reason, int code,
	const char *esc, const char *text);
/* Forgets the transaction (RSET, EHLO, after DATA); aborts a queue txn. */
void smtpd_txn_reset(struct smtpd_session *s);
/* Pauses input while an asynchronous step runs; returns its request id. */
unsigned int smtpd_begin_async(struct smtpd_session *s);
void smtpd_end_async(struct smtpd_session *s);
/* Seconds since t. */
double smtpd_elapsed_s(const struct timespec *t);

/* smtpd_auth.c */
bool smtpd_auth_offered(const struct smtpd_session *s);
void smtpd_cmd_auth(struct smtpd_session *s, const char *arg, size_t len);
void smtpd_auth_line(struct smtpd_session *s, const char *line, size_t len,
	bool too_long);
void smtpd_auth_clear(struct smtpd_session *s);

/* smtpd_data.c */
void smtpd_cmd_data(struct smtpd_session *s);
void smtpd_data_line(struct smtpd_session *s, const char *line, size_t len,
	bool too_long);
void smtpd_cmd_bdat(struct smtpd_session *s, const char *arg, size_t len);
void smtpd_on_data(void *context, const char *data, size_t len);

#endif
