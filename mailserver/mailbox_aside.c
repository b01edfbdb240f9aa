/* mailbox_aside.c: message reads in the worker pool (mailbox_aside.h). */
#include "postier.h"

#include <stdlib.h>

#include "core/buf.h"
#include "core/xmalloc.h"
#include "conn.h"
#include "loop.h"
#include "mailbox.h"
#include "mailbox_aside.h"

struct mailbox_aside {
	struct mailbox *box;
	unsigned int i;
	int ret;
	struct buf text;
	mailbox_aside_done *done;
	void *ctx;
};

static void
mailbox_aside_work(void *arg)
{
	struct mailbox_aside *r = arg;
	r->ret = mailbox_msg_read(r->box, r->i, &r->text);
}

static void
mailbox_aside_back(struct conn *c, void *arg)
{
	struct mailbox_aside *r = arg;
	if (c == NULL)
		mailbox_free(&r->box); /* the session is gone and left it */
	else
		r->done(r->ctx, r->ret, &r->text);
	buf_clear(&r->text);
	free(r);
}

void
mailbox_read_aside(struct conn *c, struct mailbox *box, unsigned int i,
	mailbox_aside_done *done, void *ctx)
{
	struct mailbox_aside *r = xcalloc(1, sizeof(*r));
	r->box = box;
	r->i = i;
	buf_init(&r->text);
	r->done = done;
	r->ctx = ctx;
	worker_submit(c, mailbox_aside_work, mailbox_aside_back, r);
}
