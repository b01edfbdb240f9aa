/* imapd_mailbox.c: IMAP commands on mailboxes (SELECT, EXAMINE, CREATE,
 * DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST, LSUB, STATUS, APPEND, CHECK,
 * CLOSE, UNSELECT) and the untagged updates that keep a client's view in
 * step with the Maildir (RFC 3501 7.3-7.4: EXISTS, RECENT, EXPUNGE, FETCH
 * FLAGS). Mailbox names are used as sent (modified UTF-7, as Dovecot stores
 * them on disk); the hierarchy separator is '.'. */
#include "postier.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "proto/imap_date.h"
#include "proto/imap_envelope.h"
#include "proto/imap_seqset.h"
#include "conn.h"
#include "imapd.h"
#include "loop.h"
#include "mailbox.h"
#include "mailbox_list.h"

#define IMAPD_MAX_KEYWORDS 64

/* --- helpers shared with the other command files --- */

void
imapd_msg_flags_append(struct imapd_session *s, unsigned int i,
	struct buf *out)
{
	const struct mailbox_msg *m = &s->box->msgs[i];
	buf_append_str(out, "FLAGS (");
	mailbox_flags_append(s->box, m->flags & ~MAILBOX_FLAG_PASSED,
		m->keywords, out);
	buf_append_char(out, ')');
}

void
imapd_send_flags(struct imapd_session *s)
{
	struct buf kw;
	buf_init(&kw);
	for (unsigned int k = 0; k < s->box->n_keywords; k++) {
		if (s->box->keywords[k] != NULL)
			buf_printf(&kw, " %s", s->box->keywords[k]);
	}
	imapd_untagged(s, "FLAGS (\\Answered \\Flagged \\Deleted \\Seen "
		"\\Draft%s)", buf_data(&kw));
	if (s->box->readonly) {
		imapd_untagged(s, "OK [PERMANENTFLAGS ()] Read-only mailbox.");
	} else {
		imapd_untagged(s, "OK [PERMANENTFLAGS (\\Answered \\Flagged "
			"\\Deleted \\Seen \\Draft%s \\*)] Flags permitted.",
			buf_data(&kw));
	}
	buf_clear(&kw);
}

/* A sync in the worker pool: the session lends it its mailbox (rescans and
 * dovecot-uidlist writes block on the disk, with an fsync) and gets it back
 * with what changed. */
struct imapd_sync_req {
	struct imapd_session *s; /* valid while the conn lives */
	struct mailbox *box;
	bool expunges;
	int ret;
	char *error;
	struct mailbox_changes ch;
};

static void
imapd_sync_work(void *arg)
{
	struct imapd_sync_req *r = arg;
	r->ret = r->expunges ? mailbox_sync(r->box, &r->ch, &r->error) :
		mailbox_sync_no_expunges(r->box, &r->ch, &r->error);
}

/* The untagged responses for what a sync changed. */
static void
imapd_sync_report(struct imapd_session *s, const struct mailbox_changes *ch,
	unsigned int old_recent)
{
	for (unsigned int i = 0; i < ch->n_expunged; i++)
		imapd_untagged(s, "%u EXPUNGE", ch->expunged[i]);
	if (ch->keywords_changed)
		imapd_send_flags(s);
	if (s->box->count != ch->old_count - ch->n_expunged)
		imapd_untagged(s, "%u EXISTS", s->box->count);
	if (s->box->recent_count != old_recent)
		imapd_untagged(s, "%u RECENT", s->box->recent_count);
	struct buf b;
	buf_init(&b);
	for (unsigned int i = 0; i < ch->n_flag_changed; i++) {
		unsigned int idx = ch->flag_changed[i] - 1;
		buf_reset(&b);
		buf_printf(&b, "* %u FETCH (UID %u ", idx + 1,
			s->box->msgs[idx].uid);
		imapd_msg_flags_append(s, idx, &b);
		buf_append_str(&b, ")\r\n");
		imapd_write(s, &b);
	}
	buf_clear(&b);
}

static void
imapd_sync_done(struct conn *c, void *arg)
{
	struct imapd_sync_req *r = arg;
	if (c == NULL) {
		/* the session is gone and left the mailbox to us */
		mailbox_free(&r->box);
	} else {
		struct imapd_session *s = r->s;
		s->box_busy = false;
		if (r->ret < 0) {
			log_error("imap.sync_error", "sid=%s error=%s",
				conn_sid(s->c), log_quote(r->error));
		} else {
			imapd_sync_report(s, &r->ch, s->sync_old_recent);
		}
		imapd_sync_finished(s);
	}
	mailbox_changes_clear(&r->ch);
	free(r->error);
	free(r);
}

bool
imapd_sync_start(struct imapd_session *s, bool expunges)
{
	if (s->box == NULL || s->box_busy)
		return false;
	/* cheap when nothing changed: two stat()s, no scan */
	if (!mailbox_needs_sync(s->box) &&
	    (!expunges || s->box->held_expunges == 0))
		return false;
	struct imapd_sync_req *r = xcalloc(1, sizeof(*r));
	r->s = s;
	r->box = s->box;
	r->expunges = expunges;
	s->box_busy = true;
	s->sync_old_recent = s->box->recent_count;
	conn_pause_input(s->c, true);
	worker_submit(s->c, imapd_sync_work, imapd_sync_done, r);
	return true;
}

void
imapd_unselect(struct imapd_session *s, bool expunge)
{
	if (s->box == NULL)
		return;
	if (expunge && !s->box->readonly) {
		/* RFC 3501 6.4.2: CLOSE expunges silently */
		for (unsigned int i = 0; i < s->box->count; i++) {
			if ((s->box->msgs[i].flags & MAILBOX_FLAG_DELETED) == 0)
				continue;
			char *error = NULL;
			if (mailbox_expunge(s->box, i, &error) < 0) {
				log_error("imap.expunge_error", "sid=%s "
					"error=%s", conn_sid(s->c),
					log_quote(error));
				free(error);
			}
		}
	}
	mailbox_free(&s->box);
	s->state = IMAPD_STATE_AUTH;
}

int
imapd_parse_flags(const struct imap_arg *arg, unsigned int *flags_r,
	const char **keywords, unsigned int max_keywords,
	unsigned int *n_keywords_r)
{
	static const struct {
		const char *name;
		unsigned int flag;
	} names[] = {
		{ "\\Answered", MAILBOX_FLAG_ANSWERED },
		{ "\\Flagged", MAILBOX_FLAG_FLAGGED },
		{ "\\Deleted", MAILBOX_FLAG_DELETED },
		{ "\\Seen", MAILBOX_FLAG_SEEN },
		{ "\\Draft", MAILBOX_FLAG_DRAFT },
	};
	const struct imap_arg *list = arg;
	unsigned int count;
	struct imap_arg one[2];
	if (arg->type == IMAP_ARG_ATOM) {
		/* a single flag without parentheses (RFC 3501 allows it in
		 * STORE) */
		one[0] = *arg;
		one[1].type = IMAP_ARG_EOL;
		list = one;
		count = 1;
	} else if (!imap_arg_get_list(arg, &list, &count)) {
		return -1;
	}
	*flags_r = 0;
	*n_keywords_r = 0;
	for (unsigned int i = 0; i < count; i++) {
		const char *f;
		if (!imap_arg_get_atom(&list[i], &f))
			return -1;
		if (f[0] == '\\') {
			size_t j;
			for (j = 0; j < N_ELEMENTS(names); j++) {
				if (strcasecmp(f, names[j].name) == 0) {
					*flags_r |= names[j].flag;
					break;
				}
			}
			/* \Recent and unknown system flags cannot be set */
			if (j == N_ELEMENTS(names) &&
			    strcasecmp(f, "\\Recent") != 0)
				return -1;
			continue;
		}
		if (strpbrk(f, "[]%*") != NULL)
			return -1;
		if (*n_keywords_r < max_keywords)
			keywords[(*n_keywords_r)++] = f;
	}
	return 0;
}

int
imapd_resolve_set(struct imapd_session *s, const char *set, bool uid,
	uint32_t **idx_r, unsigned int *count_r)
{
	struct imap_seqset parsed, res;
	imap_seqset_init(&parsed);
	imap_seqset_init(&res);
	const char *error;
	if (imap_seqset_parse(&parsed, set, 100000, &error) < 0) {
		imapd_tagged(s, "BAD", "Error in IMAP command: %s.", error);
		imap_seqset_clear(&parsed);
		return -1;
	}
	struct mailbox *box = s->box;
	uint32_t *idx = xmalloc((box->count + 1) * sizeof(*idx));
	unsigned int n = 0;
	if (uid) {
		uint32_t star = box->count > 0 ? box->msgs[box->count - 1].uid :
			0;
		imap_seqset_resolve(&parsed, star, &res);
		for (unsigned int i = 0; i < box->count; i++) {
			if (imap_seqset_contains(&res, box->msgs[i].uid))
				idx[n++] = i;
		}
	} else {
		imap_seqset_resolve(&parsed, box->count, &res);
		for (unsigned int r = 0; r < res.count; r++) {
			if (res.ranges[r].hi > box->count ||
			    res.ranges[r].lo == 0) {
				imapd_tagged(s, "BAD", "Error in IMAP command: "
					"Invalid messageset.");
				free(idx);
				imap_seqset_clear(&parsed);
				imap_seqset_clear(&res);
				return -1;
			}
			for (uint32_t q = res.ranges[r].lo;
			     q <= res.ranges[r].hi; q++) {
				idx[n++] = q - 1;
				if (q == UINT32_MAX)
					break;
			}
		}
	}
	imap_seqset_clear(&parsed);
	imap_seqset_clear(&res);
	*idx_r = idx;
	*count_r = n;
	return 0;
}

/* A mailbox name argument; strips one trailing separator. Returns a heap
 * string or NULL (BAD sent). */
static char *
imapd_mailbox_arg(struct imapd_session *s, const struct imap_arg *arg)
{
	const char *name;
	size_t len;
	if (!imap_arg_get_astring(arg, &name, &len) || memchr(name, 0, len)) {
		imapd_tagged(s, "BAD", "Invalid mailbox name argument.");
		return NULL;
	}
	char *n = xstrndup(name, len);
	size_t l = strlen(n);
	if (l > 1 && n[l - 1] == MAILBOX_LIST_SEPARATOR)
		n[l - 1] = '\0';
	if (strcasecmp(n, "INBOX") == 0)
		strcpy(n, "INBOX");
	return n;
}

/* --- SELECT / EXAMINE --- */

/* SELECT's scan runs in the worker pool (it may write dovecot-uidlist
 * with an fsync, and a large folder takes a while to read). */
struct imapd_open_req {
	struct imapd_session *s; /* valid while the conn lives */
	char *maildir, *name;
	bool readonly;
	int ret;
	char *error;
	struct mailbox *box;
};

static void
imapd_open_work(void *arg)
{
	struct imapd_open_req *r = arg;
	r->ret = mailbox_open(r->maildir, r->name, r->readonly, &r->box,
		&r->error);
}

static void
imapd_open_done(struct conn *c, void *arg)
{
	struct imapd_open_req *r = arg;
	if (c != NULL) {
		struct imapd_session *s = r->s;
		if (r->ret < 0) {
			log_error("imap.mailbox_error", "sid=%s mailbox=%s "
				"error=%s", conn_sid(c), log_quote(r->name),
				log_quote(r->error));
			imapd_tagged(s, "NO", "[SERVERBUG] Internal error "
				"opening the mailbox.");
		} else if (r->ret == 0) {
			imapd_tagged(s, "NO", "[NONEXISTENT] Mailbox doesn't "
				"exist: %s", r->name);
		} else {
			struct mailbox *box = r->box;
			r->box = NULL;
			s->box = box;
			s->state = IMAPD_STATE_SELECTED;
			imapd_send_flags(s);
			imapd_untagged(s, "%u EXISTS", box->count);
			imapd_untagged(s, "%u RECENT", box->recent_count);
			for (unsigned int i = 0; i < box->count; i++) {
				if ((box->msgs[i].flags &
				     MAILBOX_FLAG_SEEN) == 0) {
					imapd_untagged(s, "OK [UNSEEN %u] "
						"First unseen.", i + 1);
					break;
				}
			}
			imapd_untagged(s, "OK [UIDVALIDITY %u] UIDs valid",
				box->uidvalidity);
			imapd_untagged(s, "OK [UIDNEXT %u] Predicted next UID",
				box->uidnext);
			imapd_tagged(s, "OK", "[%s] Select completed.",
				r->readonly ? "READ-ONLY" : "READ-WRITE");
		}
		imapd_command_done(s);
	}
	mailbox_free(&r->box);
	free(r->error);
	free(r->name);
	free(r->maildir);
	free(r);
}

static bool
imapd_select(struct imapd_session *s, const struct imap_arg *args,
	bool readonly)
{
	char *name = imapd_mailbox_arg(s, &args[0]);
	if (name == NULL)
		return true;
	imapd_unselect(s, false);
	struct imapd_open_req *r = xcalloc(1, sizeof(*r));
	r->s = s;
	r->maildir = xstrdup(s->maildir);
	r->name = name;
	r->readonly = readonly;
	worker_submit(s->c, imapd_open_work, imapd_open_done, r);
	return false; /* imapd_open_done() ends the command */
}

bool
imapd_cmd_select(struct imapd_session *s, const struct imap_arg *args)
{
	return imapd_select(s, args, false);
}

bool
imapd_cmd_examine(struct imapd_session *s, const struct imap_arg *args)
{
	return imapd_select(s, args, true);
}

bool
imapd_cmd_close(struct imapd_session *s, const struct imap_arg *args)
{
	(void)args;
	imapd_unselect(s, true);
	imapd_tagged(s, "OK", "Close completed.");
	return true;
}

bool
imapd_cmd_unselect(struct imapd_session *s, const struct imap_arg *args)
{
	(void)args;
	imapd_unselect(s, false);
	imapd_tagged(s, "OK", "Unselect completed.");
	return true;
}

bool
imapd_cmd_check(struct imapd_session *s, const struct imap_arg *args)
{
	(void)args;
	imapd_tagged(s, "OK", "Check completed.");
	return true;
}

/* --- CREATE / DELETE / RENAME / SUBSCRIBE --- */

bool
imapd_cmd_create(struct imapd_session *s, const struct imap_arg *args)
{
	char *name = imapd_mailbox_arg(s, &args[0]);
	if (name == NULL)
		return true;
	char *error = NULL;
	if (mailbox_list_create(s->maildir, name, &error) < 0) {
		imapd_tagged(s, "NO", "%s", error);
		free(error);
	} else {
		imapd_tagged(s, "OK", "Create completed.");
	}
	free(name);
	return true;
}

bool
imapd_cmd_delete(struct imapd_session *s, const struct imap_arg *args)
{
	char *name = imapd_mailbox_arg(s, &args[0]);
	if (name == NULL)
		return true;
	if (s->box != NULL && strcmp(s->box->name, name) == 0)
		imapd_unselect(s, false);
	char *error = NULL;
	if (mailbox_list_delete(s->maildir, name, &error) < 0) {
		imapd_tagged(s, "NO", "%s", error);
		free(error);
	} else {
		imapd_tagged(s, "OK", "Delete completed.");
	}
	free(name);
	return true;
}

bool
imapd_cmd_rename(struct imapd_session *s, const struct imap_arg *args)
{
	char *from = imapd_mailbox_arg(s, &args[0]);
	if (from == NULL)
		return true;
	char *to = imapd_mailbox_arg(s, &args[1]);
	if (to == NULL) {
		free(from);
		return true;
	}
	char *error = NULL;
	if (mailbox_list_rename(s->maildir, from, to, &error) < 0) {
		imapd_tagged(s, "NO", "%s", error);
		free(error);
	} else {
		imapd_tagged(s, "OK", "Rename completed.");
	}
	free(from);
	free(to);
	return true;
}

static bool
imapd_subscribe(struct imapd_session *s, const struct imap_arg *args,
	bool subscribe)
{
	char *name = imapd_mailbox_arg(s, &args[0]);
	if (name == NULL)
		return true;
	char *error = NULL;
	if (mailbox_subscriptions_set(s->maildir, name, subscribe, &error) < 0) {
		log_error("imap.subscriptions_error", "sid=%s error=%s",
			conn_sid(s->c), log_quote(error));
		free(error);
		imapd_tagged(s, "NO", "[SERVERBUG] Internal error.");
	} else {
		imapd_tagged(s, "OK", "%s completed.", subscribe ?
			"Subscribe" : "Unsubscribe");
	}
	free(name);
	return true;
}

bool
imapd_cmd_subscribe(struct imapd_session *s, const struct imap_arg *args)
{
	return imapd_subscribe(s, args, true);
}

bool
imapd_cmd_unsubscribe(struct imapd_session *s, const struct imap_arg *args)
{
	return imapd_subscribe(s, args, false);
}

/* --- LIST / LSUB --- */

static void
imapd_list_line(struct imapd_session *s, const char *cmd, const char *attrs,
	const char *name)
{
	struct buf b;
	buf_init(&b);
	buf_printf(&b, "* %s (%s) \".\" ", cmd, attrs);
	imap_append_string(&b, name, strlen(name));
	buf_append_str(&b, "\r\n");
	imapd_write(s, &b);
	buf_clear(&b);
}

static bool
imapd_list(struct imapd_session *s, const struct imap_arg *args, bool lsub)
{
	const char *cmd = lsub ? "LSUB" : "LIST";
	bool only_special = false, only_subscribed = lsub;
	const struct imap_arg *opts;
	unsigned int n_opts;
	/* RFC 5258 selection options (what RFC 6154 clients send) */
	if (!lsub && imap_arg_get_list(&args[0], &opts, &n_opts)) {
		for (unsigned int i = 0; i < n_opts; i++) {
			if (imap_arg_atom_equals(&opts[i], "SPECIAL-USE"))
				only_special = true;
			else if (imap_arg_atom_equals(&opts[i], "SUBSCRIBED"))
				only_subscribed = true;
		}
		args++;
	}
	const char *ref, *pattern;
	if (!imap_arg_get_astring(&args[0], &ref, NULL) ||
	    !imap_arg_get_astring(&args[1], &pattern, NULL)) {
		imapd_tagged(s, "BAD", "Usage: %s reference pattern", cmd);
		return true;
	}
	if (*pattern == '\0' && !lsub) {
		/* RFC 3501 6.3.8: the hierarchy delimiter */
		imapd_untagged(s, "LIST (\\Noselect) \".\" \"\"");
		imapd_tagged(s, "OK", "List completed.");
		return true;
	}
	char *full = xasprintf("%s%s", ref, pattern);
	char *error = NULL;
	struct mailbox_names folders, subs;
	memset(&subs, 0, sizeof(subs));
	if (mailbox_list_folders(s->maildir, &folders, &error) < 0 ||
	    mailbox_subscriptions_read(s->maildir, &subs, &error) < 0) {
		log_error("imap.list_error", "sid=%s error=%s", conn_sid(s->c),
			log_quote(error));
		free(error);
		free(full);
		mailbox_names_clear(&folders);
		imapd_tagged(s, "NO", "[SERVERBUG] Internal error.");
		return true;
	}
	/* names to consider: folders, their missing parents, and (LSUB)
	 * subscriptions even to folders that are gone */
	struct mailbox_names all;
	memset(&all, 0, sizeof(all));
	const struct mailbox_names *src = only_subscribed ? &subs : &folders;
	for (unsigned int i = 0; i < src->count; i++) {
		char *n = xstrdup(src->names[i]);
		for (char *dot = lsub ? NULL : strchr(n, MAILBOX_LIST_SEPARATOR);
		     dot != NULL;
		     dot = strchr(dot + 1, MAILBOX_LIST_SEPARATOR)) {
			*dot = '\0';
			if (!mailbox_names_contains(&all, n) &&
			    !mailbox_names_contains(src, n)) {
				all.names = xrealloc(all.names,
					(all.count + 1) * sizeof(char *));
				all.names[all.count++] = xstrdup(n);
			}
			*dot = MAILBOX_LIST_SEPARATOR;
		}
		if (!mailbox_names_contains(&all, n)) {
			all.names = xrealloc(all.names,
				(all.count + 1) * sizeof(char *));
			all.names[all.count++] = xstrdup(n);
		}
		free(n);
	}
	struct buf attrs;
	buf_init(&attrs);
	for (unsigned int i = 0; i < all.count; i++) {
		const char *name = all.names[i];
		if (!mailbox_list_match(full, name))
			continue;
		bool exists = mailbox_names_contains(&folders, name);
		const char *use = exists ? mailbox_list_special_use(name) :
			NULL;
		if (only_special && use == NULL)
			continue;
		buf_reset(&attrs);
		if (!exists)
			buf_append_str(&attrs, "\\Noselect");
		if (!lsub) {
			if (buf_len(&attrs) > 0)
				buf_append_char(&attrs, ' ');
			buf_append_str(&attrs,
				mailbox_list_has_children(&folders, name) ?
				"\\HasChildren" : "\\HasNoChildren");
			if (use != NULL)
				buf_printf(&attrs, " %s", use);
			if (only_subscribed)
				buf_append_str(&attrs, " \\Subscribed");
		}
		imapd_list_line(s, cmd, buf_data(&attrs), name);
	}
	buf_clear(&attrs);
	mailbox_names_clear(&all);
	mailbox_names_clear(&folders);
	mailbox_names_clear(&subs);
	free(full);
	imapd_tagged(s, "OK", "%s completed.", lsub ? "Lsub" : "List");
	return true;
}

bool
imapd_cmd_list(struct imapd_session *s, const struct imap_arg *args)
{
	return imapd_list(s, args, false);
}

bool
imapd_cmd_lsub(struct imapd_session *s, const struct imap_arg *args)
{
	return imapd_list(s, args, true);
}

/* --- STATUS --- */

/* STATUS items, in the order asked. */
enum imapd_status_item {
	IMAPD_STATUS_MESSAGES,
	IMAPD_STATUS_RECENT,
	IMAPD_STATUS_UIDNEXT,
	IMAPD_STATUS_UIDVALIDITY,
	IMAPD_STATUS_UNSEEN,
};

#define IMAPD_STATUS_MAX_ITEMS 16

struct imapd_status_req {
	struct imapd_session *s; /* valid while the conn lives */
	char *maildir, *name;
	enum imapd_status_item items[IMAPD_STATUS_MAX_ITEMS];
	unsigned int n_items;
	int ret;
	char *error;
	uint32_t values[5];      /* by enum imapd_status_item */
};

static void
imapd_status_values(const struct mailbox *box, uint32_t values[5])
{
	values[IMAPD_STATUS_MESSAGES] = box->count;
	values[IMAPD_STATUS_RECENT] = box->recent_count;
	values[IMAPD_STATUS_UIDNEXT] = box->uidnext;
	values[IMAPD_STATUS_UIDVALIDITY] = box->uidvalidity;
	uint32_t unseen = 0;
	for (unsigned int k = 0; k < box->count; k++) {
		if ((box->msgs[k].flags & MAILBOX_FLAG_SEEN) == 0)
			unseen++;
	}
	values[IMAPD_STATUS_UNSEEN] = unseen;
}

static void
imapd_status_reply(struct imapd_session *s, const struct imapd_status_req *r)
{
	static const char *const names[] = {
		"MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN",
	};
	struct buf b;
	buf_init(&b);
	buf_append_str(&b, "* STATUS ");
	imap_append_string(&b, r->name, strlen(r->name));
	buf_append_str(&b, " (");
	for (unsigned int i = 0; i < r->n_items; i++) {
		buf_printf(&b, "%s%s %u", i > 0 ? " " : "",
			names[r->items[i]], r->values[r->items[i]]);
	}
	buf_append_str(&b, ")\r\n");
	imapd_write(s, &b);
	buf_clear(&b);
	imapd_tagged(s, "OK", "Status completed.");
}

static void
imapd_status_free(struct imapd_status_req *r)
{
	free(r->error);
	free(r->name);
	free(r->maildir);
	free(r);
}

/* Another folder than the selected one is read in the worker pool. */
static void
imapd_status_work(void *arg)
{
	struct imapd_status_req *r = arg;
	struct mailbox *box = NULL;
	r->ret = mailbox_open(r->maildir, r->name, true, &box, &r->error);
	if (r->ret > 0)
		imapd_status_values(box, r->values);
	mailbox_free(&box);
}

static void
imapd_status_done(struct conn *c, void *arg)
{
	struct imapd_status_req *r = arg;
	if (c != NULL) {
		struct imapd_session *s = r->s;
		if (r->ret < 0) {
			log_error("imap.mailbox_error", "sid=%s error=%s",
				conn_sid(c), log_quote(r->error));
			imapd_tagged(s, "NO", "[SERVERBUG] %s", r->name);
		} else if (r->ret == 0) {
			imapd_tagged(s, "NO", "[NONEXISTENT] Mailbox doesn't "
				"exist: %s", r->name);
		} else {
			imapd_status_reply(s, r);
		}
		imapd_command_done(s);
	}
	imapd_status_free(r);
}

bool
imapd_cmd_status(struct imapd_session *s, const struct imap_arg *args)
{
	static const char *const names[] = {
		"MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN",
	};
	char *name = imapd_mailbox_arg(s, &args[0]);
	if (name == NULL)
		return true;
	const struct imap_arg *items;
	unsigned int n_items;
	if (!imap_arg_get_list(&args[1], &items, &n_items) || n_items == 0 ||
	    n_items > IMAPD_STATUS_MAX_ITEMS) {
		imapd_tagged(s, "BAD", "Usage: STATUS mailbox (items)");
		free(name);
		return true;
	}
	struct imapd_status_req *r = xcalloc(1, sizeof(*r));
	r->name = name;
	for (unsigned int i = 0; i < n_items; i++) {
		const char *item;
		if (!imap_arg_get_atom(&items[i], &item))
			item = "";
		unsigned int k = 0;
		while (k < N_ELEMENTS(names) && strcasecmp(item, names[k]) != 0)
			k++;
		if (k == N_ELEMENTS(names)) {
			imapd_status_free(r);
			imapd_tagged(s, "BAD", "Invalid status item.");
			return true;
		}
		r->items[r->n_items++] = (enum imapd_status_item)k;
	}
	if (s->box != NULL && strcmp(s->box->name, name) == 0) {
		/* the selected folder: what this session sees */
		imapd_status_values(s->box, r->values);
		imapd_status_reply(s, r);
		imapd_status_free(r);
		return true;
	}
	r->s = s;
	r->maildir = xstrdup(s->maildir);
	worker_submit(s->c, imapd_status_work, imapd_status_done, r);
	return false; /* imapd_status_done() ends the command */
}

/* --- APPEND --- */

struct imapd_append_req {
	struct imapd_session *s; /* valid while the conn lives */
	char *maildir, *name;
	char *data;
	size_t len;
	unsigned int flags;
	char *keywords[IMAPD_MAX_KEYWORDS];
	unsigned int n_keywords;
	time_t date;
	int ret;
	char *error;
	uint32_t validity, uid;
};

static void
imapd_append_work(void *arg)
{
	struct imapd_append_req *r = arg;
	r->ret = mailbox_append(r->maildir, r->name, r->data, r->len, r->flags,
		(const char *const *)r->keywords, r->n_keywords, r->date,
		&r->validity, &r->uid, &r->error);
}

static void
imapd_append_done(struct conn *c, void *arg)
{
	struct imapd_append_req *r = arg;
	if (c != NULL) {
		struct imapd_session *s = r->s;
		if (r->ret == 0) {
			imapd_tagged(s, "NO", "[TRYCREATE] Mailbox doesn't "
				"exist: %s", r->name);
		} else if (r->ret < 0) {
			log_error("imap.append_error", "sid=%s error=%s",
				conn_sid(c), log_quote(r->error));
			imapd_tagged(s, "NO", "[SERVERBUG] Internal error "
				"saving the message.");
		} else {
			imapd_tagged(s, "OK", "[APPENDUID %u %u] Append "
				"completed.", r->validity, r->uid);
		}
		imapd_command_done(s);
	}
	for (unsigned int k = 0; k < r->n_keywords; k++)
		free(r->keywords[k]);
	free(r->error);
	free(r->data);
	free(r->name);
	free(r->maildir);
	free(r);
}

bool
imapd_cmd_append(struct imapd_session *s, const struct imap_arg *args)
{
	char *name = imapd_mailbox_arg(s, &args[0]);
	if (name == NULL)
		return true;
	unsigned int i = 1, flags = 0, n_kw = 0;
	const char *keywords[IMAPD_MAX_KEYWORDS];
	time_t date = 0;
	if (args[i].type == IMAP_ARG_LIST) {
		if (imapd_parse_flags(&args[i], &flags, keywords,
				      IMAPD_MAX_KEYWORDS, &n_kw) < 0) {
			imapd_tagged(s, "BAD", "Invalid flags.");
			free(name);
			return true;
		}
		i++;
	}
	if (args[i].type == IMAP_ARG_QUOTED) {
		if (imap_datetime_parse(args[i].str, &date) < 0) {
			imapd_tagged(s, "BAD", "Invalid date-time.");
			free(name);
			return true;
		}
		i++;
	}
	if (args[i].type != IMAP_ARG_LITERAL || args[i + 1].type !=
	    IMAP_ARG_EOL) {
		/* XXX: MULTIAPPEND (RFC 3502) is not offered */
		imapd_tagged(s, "BAD", "Usage: APPEND mailbox [(flags)] "
			"[date-time] literal");
		free(name);
		return true;
	}
	/* written and fsynced in the worker pool: the literal and the
	 * keyword names are copied (the parser's are reused next command) */
	struct imapd_append_req *r = xcalloc(1, sizeof(*r));
	r->s = s;
	r->maildir = xstrdup(s->maildir);
	r->name = name;
	r->data = xmalloc(args[i].len + 1);
	memcpy(r->data, args[i].str, args[i].len);
	r->len = args[i].len;
	r->flags = flags;
	for (unsigned int k = 0; k < n_kw; k++)
		r->keywords[k] = xstrdup(keywords[k]);
	r->n_keywords = n_kw;
	r->date = date;
	worker_submit(s->c, imapd_append_work, imapd_append_done, r);
	return false; /* imapd_append_done() ends the command */
}
