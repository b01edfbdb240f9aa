/* queue.h: the durable queue and local delivery.
 *
 * A message being received is a queue_txn: the SMTP session writes the
 * Received header and the body into it (spool file in DATA_DIR/queue/tmp; the
 * write goes to the page cache, fsync is the group committer's job), then
 * commits. queue_txn_commit() hands the file to the group committer, which
 * fsyncs many files, renames them into place and fsyncs the directory in one
 * round; only then is the session's callback called with status 0 and does
 * the session answer 250. Delivery workers then write each message once and
 * hard-link it into every recipient's Maildir (tmp -> new), add Return-Path,
 * and retire the queue entry. queue_init() recovers what the spool holds at
 * start-up (a crash may deliver a message twice, never lose one acknowledged).
 *
 * Spool records are typed and length-prefixed and end with an END record;
 * recovery ignores a file without one (never acknowledged). */
#ifndef MAILSERVER_QUEUE_H
#define MAILSERVER_QUEUE_H

#include <stddef.h>
#include "postier.h"

struct conn;
struct queue_txn;
struct postierd_settings;

/* Creates the spool directories, starts the committer and delivery workers,
 * recovers queued messages. Returns 0 or -1 with *error_r. Blocks. */
int queue_init(const struct postierd_settings *set, char **error_r);
/* Stops the workers after the queued commits and deliveries in progress
 * finish (deliveries not started stay queued for the next start). */
void queue_deinit(void);

struct queue_txn_info {
	const char *return_path; /* reverse-path without <>, "" for null sender */
	const char *helo;
	const char *client_ip;
	const char *auth_user;   /* NULL when not authenticated */
	const char *sid;         /* session id for logs */
};

/* Starts a message (creates its spool file). Returns NULL with *error_r on
 * failure (disk full, spool unwritable): answer 451 4.3.0. The strings are
 * copied. May touch the disk (open/create): fast, page cache only. */
struct queue_txn *queue_txn_begin(const struct queue_txn_info *info,
	char **error_r);
/* Adds a local recipient: address as accepted at RCPT (canonical), maildir
 * the recipient's Maildir root (from the directory). Copied. */
void queue_txn_add_rcpt(struct queue_txn *txn, const char *address,
	const char *maildir);
/* Appends message bytes (headers + body, CRLF line ends, dot-stuffing already
 * removed). Returns 0, or -1 when writing failed (remember it; the commit
 * will then fail too). */
int queue_txn_write(struct queue_txn *txn, const void *data, size_t len);
/* Message bytes written so far. */
size_t queue_txn_size(const struct queue_txn *txn);

/* Finishes the message and makes it durable. Takes ownership of txn. done
 * runs on c's loop after the group commit covering this message: status 0
 * and queue_id (borrowed for the call) when durable (answer 250), -1 when it
 * failed (answer 451; nothing will be delivered). If c closed meanwhile,
 * done(NULL, ...) runs: the message is still delivered when status is 0. */
typedef void queue_commit_cb(struct conn *c, int status, const char *queue_id,
	void *context);
void queue_txn_commit(struct queue_txn *txn, struct conn *c,
	queue_commit_cb *done, void *context);
/* Drops an unfinished message (RSET, disconnect mid-DATA, size exceeded):
 * its spool file is removed; nothing is delivered. */
void queue_txn_abort(struct queue_txn **txn);

/* For /metrics, /status and /health: messages queued, oldest age (s). */
void queue_stats(long long *messages_r, double *oldest_age_s_r);
/* True when the spool is writable and the workers are alive. */
bool queue_is_healthy(char **reason_r);

/* Called by delivery for every new message in a Maildir (optional hook for
 * IMAP IDLE wake-ups in this process); address is the recipient. */
void queue_set_delivery_hook(void (*hook)(const char *address,
	const char *maildir, void *context), void *context);

#endif
