/* mailbox_aside.h: a message read in the worker pool, for sessions whose
 * read would wait for the disk (mailbox_msg_read_cached() said
 * MAILBOX_WOULD_BLOCK).
 *
 * The session lends its mailbox to the read: it does not touch it until
 * done() runs on its loop thread. If the connection closed meanwhile the
 * session has left the mailbox to the read (it must not free it), which
 * frees it; done() is then not called. */
#ifndef MAILSERVER_MAILBOX_ASIDE_H
#define MAILSERVER_MAILBOX_ASIDE_H

#include "postier.h"
#include "core/buf.h"

struct conn;
struct mailbox;

/* done(ctx, ret, text): ret as from mailbox_msg_read(); text holds the
 * message and is the callee's to keep (move it) or leave (it is freed). */
typedef void mailbox_aside_done(void *ctx, int ret, struct buf *text);

void mailbox_read_aside(struct conn *c, struct mailbox *box, unsigned int i,
	mailbox_aside_done *done, void *ctx);

#endif
