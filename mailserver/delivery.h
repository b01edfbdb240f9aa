/* delivery.h: local delivery of spooled messages into Maildirs.
 *
 * For each message the final file (Return-Path header + the spooled bytes)
 * is written once, in the first recipient's Maildir tmp/, and hard-linked
 * into every recipient's new/ (copied when a link is impossible: EXDEV,
 * EMLINK, EPERM). A batch is made durable in one round: every file is
 * flushed with fdatasync() after all were written, and each distinct new/
 * directory is fsynced once after all links. Only then may the caller retire
 * the queue entries. All recipients of a message share its sender, so one
 * Return-Path serves them all and the link stays possible.
 *
 * Blocks on the file system: delivery worker threads only. */
#ifndef MAILSERVER_DELIVERY_H
#define MAILSERVER_DELIVERY_H

#include <stddef.h>
#include "postier.h"

struct spool_envelope;

enum delivery_rcpt_state {
	DELIVERY_RCPT_PENDING,   /* to do (input) */
	DELIVERY_RCPT_DONE,      /* delivered now, durable */
	DELIVERY_RCPT_ALREADY,   /* an earlier attempt had delivered it */
	DELIVERY_RCPT_TEMPFAIL,  /* retry later */
	DELIVERY_RCPT_PERMFAIL,  /* give up: bounce */
};

struct delivery_msg {
	/* input */
	const struct spool_envelope *env; /* borrowed */
	int spool_fd;                     /* borrowed, readable */
	bool check_existing;  /* recovered or retried: also look in cur/ */
	/* env->rcpt_count entries, owned by the caller; only PENDING ones are
	 * attempted, each ends in one of the other states */
	enum delivery_rcpt_state *state;
	char **error;         /* per recipient: heap reason on failure */

	/* private to delivery.c */
	char *name;           /* final file name in new/ */
	char *base;
	char *tmp_path;       /* the written file, NULL when none */
	int fd;
};

/* Delivers a batch of messages (see above). Never fails as a whole: every
 * PENDING recipient gets a state (and an error string when it failed). */
void delivery_run(struct delivery_msg *msgs, size_t count);

/* Frees the private fields and error strings of one message. */
void delivery_msg_clear(struct delivery_msg *msg);

#endif
