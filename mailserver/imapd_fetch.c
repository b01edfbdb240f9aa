/* imapd_fetch.c: FETCH (RFC 3501 6.4.5) and STORE (6.4.6).
 *
 * FETCH output is produced one message at a time while the connection's
 * queued output stays under IMAPD_FETCH_HIGH; the rest follows from
 * on_drained(), so `UID FETCH 1:* BODY.PEEK[]` over a large mailbox holds
 * one message in memory, not the mailbox. Messages are read whole and their
 * line ends made CRLF (sizes and sections are counted that way, as
 * RFC822.SIZE is); the MIME structure is parsed only when an attribute
 * needs it. */
#include "postier.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/metric.h"
#include "core/xmalloc.h"
#include "proto/imap_date.h"
#include "proto/imap_envelope.h"
#include "proto/imap_fetch.h"
#include "proto/mime_part.h"
#include "conn.h"
#include "imapd.h"
#include "mailbox.h"
#include "mailbox_aside.h"

#define IMAPD_FETCH_HIGH (256 * 1024)
#define IMAPD_MAX_KEYWORDS 64

struct imapd_fetch_ctx {
	struct imap_fetch atts;
	uint32_t *idx;
	unsigned int count, pos;
	bool need_body, need_mime, want_flags;
	unsigned int gone;
	/* a message not in the page cache is read in the worker pool (the
	 * mailbox lent to it); its text waits here for idx[pos] */
	bool reading;
	int read_ret;
	struct conn_blob *read_text;
};

void
imapd_fetch_free(struct imapd_session *s)
{
	struct imapd_fetch_ctx *f = s->fetch;
	if (f == NULL)
		return;
	imap_fetch_clear(&f->atts);
	conn_blob_unref(&f->read_text);
	free(f->idx);
	free(f);
	s->fetch = NULL;
}

/* Header lines of block [p, p+len) whose field name is (or, with not, is
 * not) in fields, then the blank line. */
static void
imapd_header_fields(const char *p, size_t len, char *const *fields,
	unsigned int n_fields, bool not, struct buf *out)
{
	size_t pos = 0;
	while (pos < len) {
		/* one field: its line and continuation lines */
		size_t start = pos;
		do {
			const char *nl = memchr(p + pos, '\n', len - pos);
			pos = nl != NULL ? (size_t)(nl - p) + 1 : len;
		} while (pos < len && (p[pos] == ' ' || p[pos] == '\t'));
		const char *colon = memchr(p + start, ':', pos - start);
		if (colon == NULL)
			continue; /* the blank line, or garbage */
		size_t nlen = (size_t)(colon - (p + start));
		while (nlen > 0 && (p[start + nlen - 1] == ' ' ||
				    p[start + nlen - 1] == '\t'))
			nlen--;
		bool match = false;
		for (unsigned int i = 0; i < n_fields && !match; i++) {
			match = strlen(fields[i]) == nlen &&
				strncasecmp(fields[i], p + start, nlen) == 0;
		}
		if (match != not)
			buf_append(out, p + start, pos - start);
	}
	buf_append_str(out, "\r\n");
}

/* The bytes of a BODY[section]: a range of msg, or text built into tmp. */
static void
imapd_section(const struct imap_fetch_att *a, const char *msg, size_t msg_len,
	const struct mime_part *root, struct buf *tmp, const char **data_r,
	size_t *len_r)
{
	*data_r = "";
	*len_r = 0;
	const struct mime_part *p = root;
	const struct mime_part *hdr_of = root;
	if (a->n_parts > 0) {
		p = mime_part_find(root, a->parts, a->n_parts);
		if (p == NULL)
			return;
		hdr_of = p->is_message ? p->message : NULL;
	}
	switch (a->spec) {
	case IMAP_SECTION_ALL:
		if (a->n_parts == 0) {
			*data_r = msg;
			*len_r = msg_len;
		} else {
			*data_r = msg + p->body_off;
			*len_r = p->body_len;
		}
		return;
	case IMAP_SECTION_MIME:
		*data_r = msg + p->hdr_off;
		*len_r = p->hdr_len;
		return;
	case IMAP_SECTION_TEXT:
		if (hdr_of != NULL) {
			*data_r = msg + hdr_of->body_off;
			*len_r = hdr_of->body_len;
		}
		return;
	case IMAP_SECTION_HEADER:
		if (hdr_of != NULL) {
			*data_r = msg + hdr_of->hdr_off;
			*len_r = hdr_of->hdr_len;
		}
		return;
	case IMAP_SECTION_HEADER_FIELDS:
	case IMAP_SECTION_HEADER_FIELDS_NOT:
		if (hdr_of == NULL)
			return;
		buf_reset(tmp);
		imapd_header_fields(msg + hdr_of->hdr_off, hdr_of->hdr_len,
			a->fields, a->n_fields,
			a->spec == IMAP_SECTION_HEADER_FIELDS_NOT, tmp);
		*data_r = buf_data(tmp);
		*len_r = buf_len(tmp);
		return;
	}
}

/* "{len}" CRLF and the bytes; m: the bytes lie in m's text, queued by
 * reference (else NULL: copied). */
static void
imapd_literal(struct imapd_session *s, struct buf *out, struct conn_blob *m,
	const char *data, size_t len)
{
	buf_printf(out, "{%zu}\r\n", len);
	if (m == NULL) {
		buf_append(out, data, len);
		return;
	}
	imapd_write(s, out);
	buf_reset(out);
	conn_write_blob(s->c, m, (size_t)(data - buf_data(&m->text)), len);
}

/* One "* n FETCH (...)" response. Returns false when the message is gone. */
static bool
imapd_fetch_one(struct imapd_session *s, unsigned int i, struct buf *out)
{
	struct imapd_fetch_ctx *f = s->fetch;
	struct mailbox *box = s->box;
	/* expunged by someone else, held in the view until an EXPUNGE may
	 * be sent: RFC 2180 4.1.2, no data */
	if (box->msgs[i].expunged)
		return false;
	/* the message text, shared with the output queue (no copies) */
	struct conn_blob *m = NULL;
	const char *msg = "";
	size_t msg_len = 0;
	struct mime_part *root = NULL;
	if (f->need_body) {
		/* read by imapd_fetch_read() */
		m = f->read_text;
		f->read_text = NULL;
		if (f->read_ret <= 0) {
			conn_blob_unref(&m);
			return false;
		}
		mime_crlf_normalize_buf(&m->text);
		msg = buf_data(&m->text);
		msg_len = buf_len(&m->text);
		if (f->need_mime)
			root = mime_parse(msg, msg_len);
	}
	struct buf tmp;
	buf_init(&tmp);
	bool flags_changed = false;
	if (f->atts.sets_seen && !box->readonly &&
	    (box->msgs[i].flags & MAILBOX_FLAG_SEEN) == 0) {
		char *error = NULL;
		if (mailbox_set_flags(box, i, box->msgs[i].flags |
			    MAILBOX_FLAG_SEEN, box->msgs[i].keywords,
			    &error) < 0) {
			log_warn("imap.flag_error", "sid=%s error=%s",
				conn_sid(s->c), log_quote(error));
			free(error);
		} else {
			flags_changed = true;
		}
	}
	buf_printf(out, "* %u FETCH (", i + 1);
	bool first = true;
	if (s->cmd_uid) {
		buf_printf(out, "UID %u", box->msgs[i].uid);
		first = false;
	}
	for (unsigned int k = 0; k < f->atts.count; k++) {
		const struct imap_fetch_att *a = &f->atts.atts[k];
		if (a->item == IMAP_FETCH_UID && s->cmd_uid)
			continue;
		if (!first)
			buf_append_char(out, ' ');
		first = false;
		switch (a->item) {
		case IMAP_FETCH_FLAGS:
			imapd_msg_flags_append(s, i, out);
			break;
		case IMAP_FETCH_UID:
			buf_printf(out, "UID %u", box->msgs[i].uid);
			break;
		case IMAP_FETCH_INTERNALDATE: {
			time_t t = 0;
			(void)mailbox_msg_mtime(box, i, &t);
			buf_append_str(out, "INTERNALDATE ");
			imap_datetime_append(out, t);
			break;
		}
		case IMAP_FETCH_RFC822_SIZE: {
			uint64_t v = 0;
			if (f->need_body)
				v = msg_len;
			else
				(void)mailbox_msg_vsize(box, i, &v);
			buf_printf(out, "RFC822.SIZE %llu",
				(unsigned long long)v);
			break;
		}
		case IMAP_FETCH_ENVELOPE:
			buf_append_str(out, "ENVELOPE ");
			imap_envelope_append(out, msg, root);
			break;
		case IMAP_FETCH_BODYSTRUCTURE:
		case IMAP_FETCH_BODY:
			buf_append_str(out, a->item == IMAP_FETCH_BODY ?
				"BODY " : "BODYSTRUCTURE ");
			imap_bodystructure_append(out, msg, root,
				a->item == IMAP_FETCH_BODYSTRUCTURE);
			break;
		case IMAP_FETCH_RFC822:
			buf_append_str(out, "RFC822 ");
			imapd_literal(s, out, m, msg, msg_len);
			metric_inc(METRIC_IMAP_RETRIEVED);
			metric_add(METRIC_IMAP_RETRIEVED_BYTES, msg_len);
			break;
		case IMAP_FETCH_RFC822_HEADER:
			buf_append_str(out, "RFC822.HEADER ");
			imapd_literal(s, out, m, msg + root->hdr_off,
				root->hdr_len);
			break;
		case IMAP_FETCH_RFC822_TEXT:
			buf_append_str(out, "RFC822.TEXT ");
			imapd_literal(s, out, m, msg + root->body_off,
				root->body_len);
			break;
		case IMAP_FETCH_SECTION: {
			const char *d;
			size_t len;
			imapd_section(a, msg, msg_len, root, &tmp, &d, &len);
			if (a->partial) {
				if (a->offset >= len) {
					len = 0;
				} else {
					d += a->offset;
					len -= (size_t)a->offset;
					if (len > a->length)
						len = (size_t)a->length;
				}
			}
			buf_append_str(out, a->name);
			buf_append_char(out, ' ');
			/* HEADER.FIELDS text is built in tmp */
			imapd_literal(s, out,
				a->spec == IMAP_SECTION_HEADER_FIELDS ||
				a->spec == IMAP_SECTION_HEADER_FIELDS_NOT ?
				NULL : m, d, len);
			if (a->n_parts == 0 && a->spec == IMAP_SECTION_ALL) {
				metric_inc(METRIC_IMAP_RETRIEVED);
				metric_add(METRIC_IMAP_RETRIEVED_BYTES, len);
			}
			break;
		}
		}
	}
	if (flags_changed && !f->want_flags) {
		/* RFC 3501 6.4.5: an implicit \Seen is reported */
		buf_append_char(out, ' ');
		imapd_msg_flags_append(s, i, out);
	}
	buf_append_str(out, ")\r\n");
	mime_part_free(&root);
	conn_blob_unref(&m);
	buf_clear(&tmp);
	return true;
}

static void
imapd_fetch_read_done(void *ctx, int ret, struct buf *text)
{
	struct imapd_session *s = ctx;
	struct imapd_fetch_ctx *f = s->fetch;
	s->box_busy = false;
	f->reading = false;
	f->read_ret = ret;
	f->read_text = conn_blob_new();
	buf_clear(&f->read_text->text);
	f->read_text->text = *text;
	buf_init(text);
	imapd_fetch_continue(s);
}

/* Reads message i for the next response: at once from the page cache, or
 * in the worker pool (returns false: imapd_fetch_continue() follows). */
static bool
imapd_fetch_read(struct imapd_session *s, unsigned int i)
{
	struct imapd_fetch_ctx *f = s->fetch;
	if (!f->need_body || f->read_text != NULL ||
	    s->box->msgs[i].expunged)
		return true;
	f->read_text = conn_blob_new();
	f->read_ret = mailbox_msg_read_cached(s->box, i, &f->read_text->text);
	if (f->read_ret != MAILBOX_WOULD_BLOCK)
		return true;
	conn_blob_unref(&f->read_text);
	f->reading = true;
	s->box_busy = true; /* lent: nothing here touches it until done */
	mailbox_read_aside(s->c, s->box, i, imapd_fetch_read_done, s);
	return false;
}

void
imapd_fetch_continue(struct imapd_session *s)
{
	struct imapd_fetch_ctx *f = s->fetch;
	if (f->reading)
		return; /* imapd_fetch_read_done() brings us back */
	struct buf out;
	buf_init(&out);
	while (f->pos < f->count &&
	       conn_output_pending(s->c) < IMAPD_FETCH_HIGH) {
		if (!imapd_fetch_read(s, f->idx[f->pos])) {
			buf_clear(&out);
			return;
		}
		buf_reset(&out);
		if (imapd_fetch_one(s, f->idx[f->pos], &out))
			imapd_write(s, &out);
		else
			f->gone++;
		f->pos++;
	}
	buf_clear(&out);
	if (f->pos < f->count)
		return; /* on_drained() brings us back */
	unsigned int gone = f->gone;
	imapd_fetch_free(s);
	if (gone > 0) {
		/* RFC 2180 4.1.2 */
		imapd_tagged(s, "NO", "[EXPUNGEISSUED] Some messages were "
			"also expunged.");
	} else {
		imapd_tagged(s, "OK", "Fetch completed.");
	}
	imapd_command_done(s);
}

bool
imapd_cmd_fetch(struct imapd_session *s, const struct imap_arg *args)
{
	const char *set;
	if (!imap_arg_get_atom(&args[0], &set) ||
	    args[1].type == IMAP_ARG_EOL) {
		imapd_tagged(s, "BAD", "Usage: FETCH sequence-set items");
		return true;
	}
	struct imapd_fetch_ctx *f = xcalloc(1, sizeof(*f));
	imap_fetch_init(&f->atts);
	const char *error;
	/* RFC 4551 modifiers would follow as args[2]: not offered */
	if (imap_fetch_parse(&f->atts, &args[1], &error) < 0) {
		imap_fetch_clear(&f->atts);
		free(f);
		imapd_tagged(s, "BAD", "Error in IMAP command FETCH: %s.",
			error);
		return true;
	}
	if (imapd_resolve_set(s, set, s->cmd_uid, &f->idx, &f->count) < 0) {
		imap_fetch_clear(&f->atts);
		free(f);
		return true;
	}
	for (unsigned int k = 0; k < f->atts.count; k++) {
		switch (f->atts.atts[k].item) {
		case IMAP_FETCH_FLAGS:
			f->want_flags = true;
			break;
		case IMAP_FETCH_UID:
		case IMAP_FETCH_INTERNALDATE:
		case IMAP_FETCH_RFC822_SIZE:
			break;
		case IMAP_FETCH_RFC822:
			f->need_body = true;
			break;
		case IMAP_FETCH_SECTION:
			f->need_body = true;
			if (f->atts.atts[k].n_parts > 0 ||
			    f->atts.atts[k].spec != IMAP_SECTION_ALL)
				f->need_mime = true;
			break;
		default:
			f->need_body = f->need_mime = true;
			break;
		}
	}
	s->fetch = f;
	imapd_fetch_continue(s);
	return false;
}

bool
imapd_cmd_store(struct imapd_session *s, const struct imap_arg *args)
{
	const char *set, *item;
	if (!imap_arg_get_atom(&args[0], &set) ||
	    !imap_arg_get_atom(&args[1], &item) ||
	    args[2].type == IMAP_ARG_EOL) {
		imapd_tagged(s, "BAD", "Usage: STORE sequence-set item flags");
		return true;
	}
	int mode = 0; /* 0 replace, 1 add, -1 remove */
	if (*item == '+') {
		mode = 1;
		item++;
	} else if (*item == '-') {
		mode = -1;
		item++;
	}
	bool silent;
	if (strcasecmp(item, "FLAGS") == 0)
		silent = false;
	else if (strcasecmp(item, "FLAGS.SILENT") == 0)
		silent = true;
	else {
		imapd_tagged(s, "BAD", "Invalid STORE item.");
		return true;
	}
	/* flag-list, or flags without parentheses */
	struct imap_arg flat = { .type = IMAP_ARG_LIST };
	const struct imap_arg *flag_arg = &args[2];
	if (args[2].type != IMAP_ARG_LIST) {
		flat.list = &args[2];
		flat.list_count = 0;
		while (args[2 + flat.list_count].type != IMAP_ARG_EOL)
			flat.list_count++;
		flag_arg = &flat;
	}
	unsigned int flags, n_kw;
	const char *kw_names[IMAPD_MAX_KEYWORDS];
	if (imapd_parse_flags(flag_arg, &flags, kw_names, IMAPD_MAX_KEYWORDS,
			      &n_kw) < 0) {
		imapd_tagged(s, "BAD", "Invalid flags.");
		return true;
	}
	if (s->box->readonly) {
		imapd_tagged(s, "NO", "Mailbox is read-only.");
		return true;
	}
	uint32_t *idx;
	unsigned int count;
	if (imapd_resolve_set(s, set, s->cmd_uid, &idx, &count) < 0)
		return true;
	unsigned int old_kw = s->box->n_keywords;
	uint32_t kw = 0;
	for (unsigned int k = 0; k < n_kw; k++) {
		int bit = mailbox_keyword_index(s->box, kw_names[k], mode >= 0);
		if (bit >= 0)
			kw |= 1u << bit;
		else if (mode >= 0) {
			free(idx);
			imapd_tagged(s, "NO", "Too many keywords.");
			return true;
		}
	}
	if (s->box->n_keywords != old_kw)
		imapd_send_flags(s);
	struct buf b;
	buf_init(&b);
	unsigned int gone = 0;
	for (unsigned int n = 0; n < count; n++) {
		unsigned int i = idx[n];
		struct mailbox_msg *m = &s->box->msgs[i];
		unsigned int nf;
		uint32_t nk;
		if (mode == 0) {
			/* \Recent and P are not client-settable: keep them */
			nf = flags | (m->flags & (MAILBOX_FLAG_RECENT |
				MAILBOX_FLAG_PASSED));
			nk = kw;
		} else if (mode > 0) {
			nf = m->flags | flags;
			nk = m->keywords | kw;
		} else {
			nf = m->flags & ~flags;
			nk = m->keywords & ~kw;
		}
		char *error = NULL;
		int ret = mailbox_set_flags(s->box, i, nf, nk, &error);
		if (ret < 0) {
			log_warn("imap.flag_error", "sid=%s error=%s",
				conn_sid(s->c), log_quote(error));
			free(error);
			continue;
		}
		if (ret == 0) {
			gone++;
			continue;
		}
		if (silent)
			continue;
		buf_reset(&b);
		buf_printf(&b, "* %u FETCH (", i + 1);
		imapd_msg_flags_append(s, i, &b);
		if (s->cmd_uid)
			buf_printf(&b, " UID %u", m->uid);
		buf_append_str(&b, ")\r\n");
		imapd_write(s, &b);
	}
	buf_clear(&b);
	free(idx);
	if (gone > 0)
		imapd_tagged(s, "NO", "[EXPUNGEISSUED] Some messages were "
			"also expunged.");
	else
		imapd_tagged(s, "OK", "Store completed.");
	return true;
}
