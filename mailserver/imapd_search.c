/* imapd_search.c: SEARCH (RFC 3501 6.4.4), COPY (6.4.7) with UIDPLUS
 * COPYUID (RFC 4315), MOVE (RFC 6851) and EXPUNGE / UID EXPUNGE.
 *
 * SEARCH reads a message only when a key needs its header or body; string
 * keys match the text a reader sees, as Dovecot does without an FTS plugin:
 * encoded-words, base64 and quoted-printable decoded, charsets converted to
 * UTF-8, both sides lower-cased (mime_decode.h); the body is its text parts
 * (and attached messages), not binary attachments.
 * It runs in slices (see imapd_search_continue) so a text search over a large
 * mailbox neither holds the loop nor buffers its whole answer. */
#include "postier.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "proto/imap_date.h"
#include "proto/imap_search.h"
#include "proto/imap_seqset.h"
#include "proto/mime_decode.h"
#include "proto/mime_part.h"
#include "conn.h"
#include "imapd.h"
#include "loop.h"
#include "mailbox.h"
#include "mailbox_aside.h"

struct imapd_search_ctx {
	struct imap_search_key *key;
	unsigned int pos;
	struct buf out; /* the part of the line not yet written */
	/* a message not in the page cache is read in the worker pool (the
	 * mailbox lent to it); its text waits here for msgs[pos] */
	bool reading, have_read;
	int read_ret;
	struct buf read_text;
};

/* The message being tested, read on demand. */
struct imapd_search_msg {
	struct imapd_session *s;
	unsigned int i;
	bool loaded, gone;
	bool would_block;      /* the text is not in the page cache */
	struct buf text;       /* CRLF-normalized message */
	struct mime_part *root;
	/* decoded (encoded-words, base64, quoted-printable, charsets) and
	 * lower-cased, made when a key first needs them */
	bool have_head, have_body;
	struct buf head, body;
};

static void
imapd_search_msg_clear(struct imapd_search_msg *m)
{
	buf_clear(&m->text);
	buf_clear(&m->head);
	buf_clear(&m->body);
	mime_part_free(&m->root);
}

static bool
imapd_search_load(struct imapd_search_msg *m)
{
	if (m->loaded)
		return !m->gone;
	m->loaded = true;
	struct imapd_search_ctx *q = m->s->search;
	int ret;
	if (q->have_read) {
		/* read in the worker pool for this message */
		q->have_read = false;
		ret = q->read_ret;
		buf_clear(&m->text);
		m->text = q->read_text;
		buf_init(&q->read_text);
	} else {
		ret = mailbox_msg_read_cached(m->s->box, m->i, &m->text);
	}
	if (ret == MAILBOX_WOULD_BLOCK)
		m->would_block = true;
	if (ret <= 0) {
		m->gone = true;
		return false;
	}
	mime_crlf_normalize_buf(&m->text);
	m->root = mime_parse(buf_data(&m->text), buf_len(&m->text));
	return true;
}

/* Decoded, lower-cased header block [off, off+len) appended to out. */
static void
imapd_search_fold_header(const char *msg, size_t off, size_t len,
	struct buf *out)
{
	struct buf tmp;
	buf_init(&tmp);
	mime_header_decode(msg + off, len, &tmp);
	mime_utf8_fold(buf_data(&tmp), buf_len(&tmp), out);
	buf_clear(&tmp);
}

/* The text a reader sees in part p: text parts decoded and lower-cased,
 * attached messages with their header fields; other attachments (images,
 * documents) are not text and are left out. */
static void
imapd_search_fold_body(const char *msg, const struct mime_part *p,
	struct buf *out)
{
	if (p->is_multipart) {
		for (unsigned int c = 0; c < p->n_children; c++)
			imapd_search_fold_body(msg, &p->children[c], out);
		return;
	}
	if (p->is_message && p->message != NULL) {
		imapd_search_fold_header(msg, p->message->hdr_off,
			p->message->hdr_len, out);
		imapd_search_fold_body(msg, p->message, out);
		return;
	}
	if (!p->is_text && p->type != NULL)
		return;
	const char *charset = NULL;
	for (unsigned int k = 0; k < p->n_params; k++) {
		if (strcasecmp(p->params[k].name, "charset") == 0)
			charset = p->params[k].value;
	}
	struct buf tmp;
	buf_init(&tmp);
	mime_body_decode(msg + p->body_off, p->body_len, p->encoding, charset,
		&tmp);
	mime_utf8_fold(buf_data(&tmp), buf_len(&tmp), out);
	buf_append_char(out, '\n');
	buf_clear(&tmp);
}

static const struct buf *
imapd_search_head(struct imapd_search_msg *m)
{
	if (!m->have_head) {
		m->have_head = true;
		imapd_search_fold_header(buf_data(&m->text), m->root->hdr_off,
			m->root->hdr_len, &m->head);
	}
	return &m->head;
}

static const struct buf *
imapd_search_body(struct imapd_search_msg *m)
{
	if (!m->have_body) {
		m->have_body = true;
		imapd_search_fold_body(buf_data(&m->text), m->root, &m->body);
	}
	return &m->body;
}

/* Whether folded text b holds needle (lower-cased here). */
static bool
imapd_contains(const struct buf *b, const char *needle)
{
	size_t n = strlen(needle);
	if (n == 0)
		return true;
	struct buf fn;
	buf_init(&fn);
	mime_utf8_fold(needle, n, &fn);
	bool r = memmem(buf_data(b), buf_len(b), buf_data(&fn),
		buf_len(&fn)) != NULL;
	buf_clear(&fn);
	return r;
}

static long long
imapd_day(time_t t)
{
	return (long long)(t >= 0 ? t / 86400 : (t - 86399) / 86400);
}

static bool
imapd_search_match(struct imapd_search_msg *m,
	const struct imap_search_key *k, const struct imap_seqset *seq_res)
{
	struct mailbox *box = m->s->box;
	const struct mailbox_msg *msg = &box->msgs[m->i];
	switch (k->type) {
	case IMAP_SEARCH_AND:
		for (unsigned int c = 0; c < k->n_children; c++) {
			if (!imapd_search_match(m, &k->children[c], NULL))
				return false;
		}
		return true;
	case IMAP_SEARCH_OR:
		return imapd_search_match(m, &k->children[0], NULL) ||
			imapd_search_match(m, &k->children[1], NULL);
	case IMAP_SEARCH_NOT:
		return !imapd_search_match(m, &k->children[0], NULL);
	case IMAP_SEARCH_ALL:
		return true;
	case IMAP_SEARCH_SEQSET: {
		struct imap_seqset res;
		imap_seqset_init(&res);
		imap_seqset_resolve(&k->seqset, box->count, &res);
		bool r = imap_seqset_contains(&res, m->i + 1);
		imap_seqset_clear(&res);
		(void)seq_res;
		return r;
	}
	case IMAP_SEARCH_UID: {
		struct imap_seqset res;
		imap_seqset_init(&res);
		imap_seqset_resolve(&k->seqset, box->count > 0 ?
			box->msgs[box->count - 1].uid : 0, &res);
		bool r = imap_seqset_contains(&res, msg->uid);
		imap_seqset_clear(&res);
		return r;
	}
	case IMAP_SEARCH_FLAG:
		return (msg->flags & k->flag_bit) != 0;
	case IMAP_SEARCH_NOFLAG:
		return (msg->flags & k->flag_bit) == 0;
	case IMAP_SEARCH_KEYWORD:
	case IMAP_SEARCH_UNKEYWORD: {
		int bit = mailbox_keyword_index(box, k->str, false);
		bool has = bit >= 0 && (msg->keywords & (1u << bit)) != 0;
		return k->type == IMAP_SEARCH_KEYWORD ? has : !has;
	}
	case IMAP_SEARCH_NEW:
		return (msg->flags & MAILBOX_FLAG_RECENT) != 0 &&
			(msg->flags & MAILBOX_FLAG_SEEN) == 0;
	case IMAP_SEARCH_OLD:
		return (msg->flags & MAILBOX_FLAG_RECENT) == 0;
	case IMAP_SEARCH_RECENT:
		return (msg->flags & MAILBOX_FLAG_RECENT) != 0;
	case IMAP_SEARCH_LARGER:
	case IMAP_SEARCH_SMALLER: {
		uint64_t v = 0;
		if (mailbox_msg_vsize(box, m->i, &v) < 0)
			return false;
		return k->type == IMAP_SEARCH_LARGER ? v > k->number :
			v < k->number;
	}
	case IMAP_SEARCH_BEFORE:
	case IMAP_SEARCH_ON:
	case IMAP_SEARCH_SINCE: {
		time_t t;
		if (mailbox_msg_mtime(box, m->i, &t) < 0)
			return false;
		long long d = imapd_day(t), want = imapd_day(k->date);
		return k->type == IMAP_SEARCH_BEFORE ? d < want :
			k->type == IMAP_SEARCH_ON ? d == want : d >= want;
	}
	case IMAP_SEARCH_SENTBEFORE:
	case IMAP_SEARCH_SENTON:
	case IMAP_SEARCH_SENTSINCE: {
		if (!imapd_search_load(m))
			return false;
		struct buf v;
		buf_init(&v);
		time_t t;
		bool ok = mime_header_get(buf_data(&m->text), m->root->hdr_off,
			m->root->hdr_len, "Date", &v) == 1 &&
			imap_rfc822_date_parse(buf_data(&v), &t) == 0;
		buf_clear(&v);
		if (!ok)
			return false;
		long long d = imapd_day(t), want = imapd_day(k->date);
		return k->type == IMAP_SEARCH_SENTBEFORE ? d < want :
			k->type == IMAP_SEARCH_SENTON ? d == want : d >= want;
	}
	case IMAP_SEARCH_HEADER: {
		if (!imapd_search_load(m))
			return false;
		struct buf v, folded;
		buf_init(&v);
		buf_init(&folded);
		bool found = mime_header_get(buf_data(&m->text),
			m->root->hdr_off, m->root->hdr_len, k->str, &v) == 1;
		if (found)
			imapd_search_fold_header(buf_data(&v), 0, buf_len(&v),
				&folded);
		bool r = found && imapd_contains(&folded, k->str2);
		buf_clear(&v);
		buf_clear(&folded);
		return r;
	}
	case IMAP_SEARCH_BODY:
		if (!imapd_search_load(m))
			return false;
		return imapd_contains(imapd_search_body(m), k->str);
	case IMAP_SEARCH_TEXT:
		if (!imapd_search_load(m))
			return false;
		return imapd_contains(imapd_search_head(m), k->str) ||
			imapd_contains(imapd_search_body(m), k->str);
	}
	return false;
}

/* SEARCH runs in slices: at most this many messages read from disk, or
 * tested from the index alone, per loop turn; the "* SEARCH" line goes out
 * in pieces of IMAPD_SEARCH_FLUSH bytes and waits while the client has
 * IMAPD_SEARCH_HIGH bytes unread. */
#define IMAPD_SEARCH_SLICE_READS 16
#define IMAPD_SEARCH_SLICE_TESTS 4096
#define IMAPD_SEARCH_FLUSH (16 * 1024)
#define IMAPD_SEARCH_HIGH (256 * 1024)


void
imapd_search_free(struct imapd_session *s)
{
	struct imapd_search_ctx *q = s->search;
	if (q == NULL)
		return;
	imap_search_free(&q->key);
	buf_clear(&q->out);
	buf_clear(&q->read_text);
	free(q);
	s->search = NULL;
}

static void
imapd_search_read_done(void *ctx, int ret, struct buf *text)
{
	struct imapd_session *s = ctx;
	struct imapd_search_ctx *q = s->search;
	s->box_busy = false;
	q->reading = false;
	q->have_read = true;
	q->read_ret = ret;
	buf_clear(&q->read_text);
	q->read_text = *text;
	buf_init(text);
	imapd_search_continue(s);
}

void
imapd_search_continue(struct imapd_session *s)
{
	struct imapd_search_ctx *q = s->search;
	if (q->reading)
		return; /* imapd_search_read_done() brings us back */
	unsigned int reads = 0, tests = 0;
	while (q->pos < s->box->count) {
		if (conn_output_pending(s->c) >= IMAPD_SEARCH_HIGH)
			return; /* on_drained() brings us back */
		if (reads >= IMAPD_SEARCH_SLICE_READS ||
		    tests >= IMAPD_SEARCH_SLICE_TESTS) {
			conn_yield(s->c);
			return;
		}
		unsigned int i = q->pos;
		struct imapd_search_msg m = { .s = s, .i = i };
		buf_init(&m.text);
		buf_init(&m.head);
		buf_init(&m.body);
		bool hit = imapd_search_match(&m, q->key, NULL);
		if (m.would_block) {
			/* read it aside, then test this message again */
			imapd_search_msg_clear(&m);
			q->reading = true;
			s->box_busy = true; /* lent until done */
			mailbox_read_aside(s->c, s->box, i,
				imapd_search_read_done, s);
			return;
		}
		q->pos++;
		if (hit)
			buf_printf(&q->out, " %u", s->cmd_uid ?
				s->box->msgs[i].uid : i + 1);
		reads += m.loaded;
		tests++;
		imapd_search_msg_clear(&m);
		if (buf_len(&q->out) >= IMAPD_SEARCH_FLUSH) {
			imapd_write(s, &q->out);
			buf_reset(&q->out);
		}
	}
	buf_append_str(&q->out, "\r\n");
	imapd_write(s, &q->out);
	imapd_search_free(s);
	imapd_tagged(s, "OK", "Search completed.");
	imapd_command_done(s);
}

bool
imapd_cmd_search(struct imapd_session *s, const struct imap_arg *args)
{
	if (imap_arg_atom_equals(&args[0], "CHARSET")) {
		const char *cs;
		if (!imap_arg_get_astring(&args[1], &cs, NULL)) {
			imapd_tagged(s, "BAD", "Missing charset.");
			return true;
		}
		if (strcasecmp(cs, "UTF-8") != 0 &&
		    strcasecmp(cs, "US-ASCII") != 0) {
			imapd_tagged(s, "NO", "[BADCHARSET (UTF-8 US-ASCII)] "
				"Unsupported charset.");
			return true;
		}
		args += 2;
	}
	struct imap_search_key *key = NULL;
	const char *error;
	if (imap_search_parse(args, &key, &error) < 0) {
		imapd_tagged(s, "BAD", "Error in IMAP command SEARCH: %s.",
			error);
		return true;
	}
	struct imapd_search_ctx *q = xcalloc(1, sizeof(*q));
	q->key = key;
	buf_init(&q->out);
	buf_init(&q->read_text);
	buf_append_str(&q->out, "* SEARCH");
	s->search = q;
	imapd_search_continue(s);
	return false;
}

/* "1:3,5" from a sorted UID list. */
static void
imapd_uid_set_append(struct buf *out, const uint32_t *uids, unsigned int n)
{
	for (unsigned int i = 0; i < n;) {
		unsigned int j = i;
		while (j + 1 < n && uids[j + 1] == uids[j] + 1)
			j++;
		if (i > 0)
			buf_append_char(out, ',');
		if (j > i)
			buf_printf(out, "%u:%u", uids[i], uids[j]);
		else
			buf_printf(out, "%u", uids[i]);
		i = j + 1;
	}
}

/* COPY and MOVE run in the worker pool with the selected mailbox lent to
 * them (links, the target's dovecot-uidlist with its fsync, unlinks for
 * MOVE); the replies are made back on the loop. */
struct imapd_copy_req {
	struct imapd_session *s; /* valid while the conn lives */
	char sid[17];            /* for the log, from the worker */
	struct mailbox *box;
	char *maildir, *name;
	bool move;
	uint32_t *idx;
	unsigned int count;
	/* results */
	int ret;                 /* 1 done, 0 no such target, -1 error */
	uint32_t validity;
	uint32_t *src_uids, *dst_uids;
	unsigned int n;
};

static void
imapd_copy_work(void *arg)
{
	struct imapd_copy_req *r = arg;
	r->ret = 1;
	for (unsigned int k = 0; k < r->count; k++) {
		char *error = NULL;
		uint32_t uid;
		r->ret = mailbox_copy(r->box, r->idx[k], r->name, &r->validity,
			&uid, &error);
		if (r->ret < 0) {
			log_error("imap.copy_error", "sid=%s error=%s", r->sid,
				log_quote(error));
			free(error);
			break;
		}
		if (r->ret == 0) {
			/* the message vanished, or the target is missing */
			struct mailbox *t = NULL;
			char *e2 = NULL;
			bool missing = mailbox_open(r->maildir, r->name, true,
				&t, &e2) == 0;
			mailbox_free(&t);
			free(e2);
			if (missing)
				break;
			r->ret = 1;
			continue;
		}
		r->src_uids[r->n] = r->box->msgs[r->idx[k]].uid;
		r->dst_uids[r->n] = uid;
		r->n++;
	}
	if (r->ret <= 0 || !r->move)
		return;
	for (unsigned int k = 0; k < r->count; k++) {
		char *error = NULL;
		if (mailbox_expunge(r->box, r->idx[k], &error) < 0) {
			log_error("imap.expunge_error", "sid=%s error=%s",
				r->sid, log_quote(error));
			free(error);
		}
	}
}

static void
imapd_copy_done(struct conn *c, void *arg)
{
	struct imapd_copy_req *r = arg;
	if (c == NULL) {
		/* the session is gone and left the mailbox to us */
		mailbox_free(&r->box);
	} else {
		struct imapd_session *s = r->s;
		s->box_busy = false;
		if (r->ret == 0) {
			imapd_tagged(s, "NO", "[TRYCREATE] Mailbox doesn't "
				"exist: %s", r->name);
		} else if (r->ret < 0) {
			imapd_tagged(s, "NO", "[SERVERBUG] Internal error "
				"copying.");
		} else {
			struct buf code;
			buf_init(&code);
			if (r->n > 0) {
				buf_printf(&code, "[COPYUID %u ", r->validity);
				imapd_uid_set_append(&code, r->src_uids, r->n);
				buf_append_char(&code, ' ');
				imapd_uid_set_append(&code, r->dst_uids, r->n);
				buf_append_str(&code, "] ");
			}
			if (r->move) {
				/* RFC 6851 4.3: COPYUID untagged, then the
				 * EXPUNGEs (from the sync before the OK) */
				if (r->n > 0)
					imapd_untagged(s, "OK %sMoved UIDs.",
						buf_data(&code));
				s->cmd_flags &=
					~(unsigned int)IMAPD_CMD_NO_EXPUNGE;
				imapd_tagged(s, "OK", "Move completed.");
			} else {
				imapd_tagged(s, "OK", "%sCopy completed.",
					buf_data(&code));
			}
			buf_clear(&code);
		}
		imapd_command_done(s);
	}
	free(r->src_uids);
	free(r->dst_uids);
	free(r->idx);
	free(r->name);
	free(r->maildir);
	free(r);
}

static bool
imapd_copy(struct imapd_session *s, const struct imap_arg *args, bool move)
{
	const char *set, *dst;
	size_t dst_len;
	if (!imap_arg_get_atom(&args[0], &set) ||
	    !imap_arg_get_astring(&args[1], &dst, &dst_len)) {
		imapd_tagged(s, "BAD", "Usage: %s sequence-set mailbox",
			move ? "MOVE" : "COPY");
		return true;
	}
	if (move && s->box->readonly) {
		imapd_tagged(s, "NO", "Mailbox is read-only.");
		return true;
	}
	struct imapd_copy_req *r = xcalloc(1, sizeof(*r));
	if (imapd_resolve_set(s, set, s->cmd_uid, &r->idx, &r->count) < 0) {
		free(r);
		return true;
	}
	r->s = s;
	snprintf(r->sid, sizeof(r->sid), "%s", conn_sid(s->c));
	r->box = s->box;
	r->maildir = xstrdup(s->maildir);
	r->name = xstrndup(dst, dst_len);
	if (strcasecmp(r->name, "INBOX") == 0)
		strcpy(r->name, "INBOX");
	r->move = move;
	r->src_uids = xmalloc((r->count + 1) * sizeof(uint32_t));
	r->dst_uids = xmalloc((r->count + 1) * sizeof(uint32_t));
	s->box_busy = true; /* lent: nothing here touches it until done */
	worker_submit(s->c, imapd_copy_work, imapd_copy_done, r);
	return false; /* imapd_copy_done() ends the command */
}

bool
imapd_cmd_copy(struct imapd_session *s, const struct imap_arg *args)
{
	return imapd_copy(s, args, false);
}

bool
imapd_cmd_move(struct imapd_session *s, const struct imap_arg *args)
{
	return imapd_copy(s, args, true);
}

bool
imapd_cmd_expunge(struct imapd_session *s, const struct imap_arg *args)
{
	if (s->box->readonly) {
		imapd_tagged(s, "NO", "Mailbox is read-only.");
		return true;
	}
	uint32_t *idx = NULL;
	unsigned int count = 0;
	if (s->cmd_uid) {
		/* RFC 4315 2.1: UID EXPUNGE set */
		const char *set;
		if (!imap_arg_get_atom(&args[0], &set)) {
			imapd_tagged(s, "BAD", "Usage: UID EXPUNGE uid-set");
			return true;
		}
		if (imapd_resolve_set(s, set, true, &idx, &count) < 0)
			return true;
	} else {
		idx = xmalloc((s->box->count + 1) * sizeof(*idx));
		for (unsigned int i = 0; i < s->box->count; i++)
			idx[count++] = i;
	}
	for (unsigned int k = 0; k < count; k++) {
		unsigned int i = idx[k];
		if ((s->box->msgs[i].flags & MAILBOX_FLAG_DELETED) == 0)
			continue;
		char *error = NULL;
		if (mailbox_expunge(s->box, i, &error) < 0) {
			log_error("imap.expunge_error", "sid=%s error=%s",
				conn_sid(s->c), log_quote(error));
			free(error);
		}
	}
	free(idx);
	/* the sync before the tagged OK sends the EXPUNGE responses */
	imapd_tagged(s, "OK", "Expunge completed.");
	return true;
}
