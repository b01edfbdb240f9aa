/* imapd.h: the IMAP session shared by the command files (imapd.c: the
 * session, parser glue, replies, any-state and authentication commands;
 * imapd_mailbox.c: mailbox commands and untagged updates; imapd_fetch.c:
 * FETCH and STORE; imapd_search.c: SEARCH, COPY, MOVE, EXPUNGE;
 * imapd_idle.c: IDLE wake-ups).
 *
 * A command handler returns true when it has sent its tagged reply, false
 * when it continues later (a directory look-up, a FETCH waiting for the
 * socket to drain, IDLE); it then calls imapd_command_done() when it ends.
 * Input is paused while a command runs, so pipelined commands run in order.
 * Everything runs on the connection's loop thread, but the disk work that
 * may wait (scans that write dovecot-uidlist, APPEND, COPY/MOVE, STATUS,
 * FETCH/SEARCH reads not in the page cache), which runs in the worker pool;
 * the selected mailbox is then lent to it (box_busy). */
#ifndef MAILSERVER_IMAPD_H
#define MAILSERVER_IMAPD_H

#include <stdint.h>
#include "postier.h"
#include "core/buf.h"
#include "proto/imap_parser.h"

struct conn;
struct mailbox;
struct imapd_fetch_ctx;
struct imapd_search_ctx;

enum imapd_state {
	IMAPD_STATE_NOT_AUTH,
	IMAPD_STATE_AUTH,
	IMAPD_STATE_SELECTED,
	IMAPD_STATE_LOGOUT,
};

/* command table flags */
#define IMAPD_CMD_NOT_AUTH  0x01 /* allowed before login */
#define IMAPD_CMD_AUTH      0x02 /* allowed after login */
#define IMAPD_CMD_SELECTED  0x04 /* needs a selected mailbox */
#define IMAPD_CMD_UID       0x08 /* has a UID form */
/* RFC 3501 7.4.1: no EXPUNGE responses during FETCH, STORE, SEARCH (the
 * non-UID forms): their updates hold expunged messages back */
#define IMAPD_CMD_NO_EXPUNGE 0x10

struct imapd_session {
	struct conn *c;
	uint64_t conn_id;
	enum imapd_state state;
	struct imap_parser *parser;
	bool running;             /* a command has not finished yet */
	unsigned int cmd_flags;   /* flags of the running command */
	bool cmd_uid;
	char *tag;                /* of the running command */
	unsigned int bad_commands;

	char *user;               /* authenticated address */
	char *auth_attempt;       /* the name a login in flight tries */
	char *maildir;            /* the user's Maildir root */
	struct mailbox *box;      /* selected mailbox, or NULL */

	/* AUTHENTICATE waiting for the client's response line */
	bool sasl_wait;
	/* IDLE */
	bool idling;
	bool idle_registered;
	/* box is lent to the worker pool (a rescan: imapd_sync_start; COPY,
	 * MOVE; a FETCH or SEARCH read from the disk): nothing on the loop
	 * touches it, and a session that ends leaves it to the request to
	 * free */
	bool box_busy;
	unsigned int sync_old_recent;
	struct buf tagged_wait;   /* the tagged reply that waits for it */
	bool done_wait;           /* imapd_command_done() waits for it */
	bool sync_again;          /* a change was seen meanwhile (IDLE) */
	/* FETCH and SEARCH streaming */
	struct imapd_fetch_ctx *fetch;
	struct imapd_search_ctx *search;
};

/* Replies. imapd_tagged() with "OK" or "NO" in the selected state first
 * sends the untagged updates the running command allows (all of them, or
 * without EXPUNGE after IMAPD_CMD_NO_EXPUNGE commands). */
void imapd_untagged(struct imapd_session *s, const char *fmt, ...)
	ATTR_PRINTF(2, 3);
void imapd_tagged(struct imapd_session *s, const char *status,
	const char *fmt, ...) ATTR_PRINTF(3, 4);
void imapd_write(struct imapd_session *s, const struct buf *b);
/* Ends a command that returned false. */
void imapd_command_done(struct imapd_session *s);
/* The capability list for the current state. */
void imapd_capability_append(struct imapd_session *s, struct buf *out);

/* Untagged updates: when the selected mailbox changed on disk (two stat()s
 * say so) starts a rescan in the worker pool and returns true; it reports
 * EXISTS, RECENT, FLAGS and FETCH FLAGS changes, and, when expunges,
 * EXPUNGE (also for the messages an earlier sync without expunges held
 * back; without: vanished messages stay in the view and sequence numbers
 * do not move), then calls imapd_sync_finished(). Returns false when there
 * is nothing to do (or a sync runs already). While it runs the mailbox
 * belongs to the worker: input is paused and nothing touches s->box. */
bool imapd_sync_start(struct imapd_session *s, bool expunges);
/* Back on the loop after a sync: the tagged reply and the end of the
 * command that waited for it, or IDLE going on. */
void imapd_sync_finished(struct imapd_session *s);
/* The FLAGS and PERMANENTFLAGS of the selected mailbox. */
void imapd_send_flags(struct imapd_session *s);
/* "FLAGS (...)" of message i. */
void imapd_msg_flags_append(struct imapd_session *s, unsigned int i,
	struct buf *out);
/* Closes the selected mailbox (expunge: remove \Deleted first). */
void imapd_unselect(struct imapd_session *s, bool expunge);

/* Reads a flag list into system flags and keyword names (borrowed from
 * args; at most max_keywords). Returns 0 or -1 (bad flag). */
int imapd_parse_flags(const struct imap_arg *arg, unsigned int *flags_r,
	const char **keywords, unsigned int max_keywords,
	unsigned int *n_keywords_r);
/* Resolves a sequence set (or UID set) into 0-based message indexes of
 * the selected mailbox. Returns 0 or -1 (bad set: BAD sent). */
int imapd_resolve_set(struct imapd_session *s, const char *set, bool uid,
	uint32_t **idx_r, unsigned int *count_r);

/* Command handlers. */
bool imapd_cmd_select(struct imapd_session *s, const struct imap_arg *args);
bool imapd_cmd_examine(struct imapd_session *s, const struct imap_arg *args);
bool imapd_cmd_create(struct imapd_session *s, const struct imap_arg *args);
bool imapd_cmd_delete(struct imapd_session *s, const struct imap_arg *args);
bool imapd_cmd_rename(struct imapd_session *s, const struct imap_arg *args);
bool imapd_cmd_subscribe(struct imapd_session *s, const struct imap_arg *args);
bool imapd_cmd_unsubscribe(struct imapd_session *s,
	const struct imap_arg *args);
bool imapd_cmd_list(struct imapd_session *s, const struct imap_arg *args);
bool imapd_cmd_lsub(struct imapd_session *s, const struct imap_arg *args);
bool imapd_cmd_status(struct imapd_session *s, const struct imap_arg *args);
bool imapd_cmd_append(struct imapd_session *s, const struct imap_arg *args);
bool imapd_cmd_check(struct imapd_session *s, const struct imap_arg *args);
bool imapd_cmd_close(struct imapd_session *s, const struct imap_arg *args);
bool imapd_cmd_unselect(struct imapd_session *s, const struct imap_arg *args);
bool imapd_cmd_fetch(struct imapd_session *s, const struct imap_arg *args);
bool imapd_cmd_store(struct imapd_session *s, const struct imap_arg *args);
bool imapd_cmd_search(struct imapd_session *s, const struct imap_arg *args);
bool imapd_cmd_copy(struct imapd_session *s, const struct imap_arg *args);
bool imapd_cmd_move(struct imapd_session *s, const struct imap_arg *args);
bool imapd_cmd_expunge(struct imapd_session *s, const struct imap_arg *args);
bool imapd_cmd_idle(struct imapd_session *s, const struct imap_arg *args);

/* FETCH streaming: continue after the output drained; free on close. */
void imapd_fetch_continue(struct imapd_session *s);
void imapd_fetch_free(struct imapd_session *s);
/* SEARCH in slices: continue at the next loop turn or after the output
 * drained; free on close. */
void imapd_search_continue(struct imapd_session *s);
void imapd_search_free(struct imapd_session *s);

/* IDLE: the watcher calls imapd_idle_wakeup() on the session's loop when
 * the mailbox directory changed. */
void imapd_idle_register(struct imapd_session *s);
void imapd_idle_unregister(struct imapd_session *s);
void imapd_idle_wakeup(struct imapd_session *s);
void imapd_idle_done(struct imapd_session *s);

#endif
