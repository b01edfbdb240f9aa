/* imapc.c: the IMAP client session (see imapc.h). imapc_cmd() tags and
 * writes a command, parses responses up to its tagged completion, then
 * continues an internal sequence or calls the user back. Untagged data the
 * client needs (CAPABILITY, EXISTS, UIDNEXT, SEARCH) is picked from the raw
 * untagged text after completion. */
#include "postier.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xmalloc.h"
#include "client/cconn.h"
#include "client/imapc.h"

typedef void imapc_next_fn(struct imapc *c, int result);

struct imapc {
	struct cconn *cc;
	struct imap_resp_parser parser;
	unsigned int tag_seq;
	char tag[16];
	struct buf capa;	/* " CAP1 CAP2 ... " upper-cased */
	const char *step;
	imapc_next_fn *next;
	imapc_next_fn *after;
	imapc_cb *cb;
	void *cb_context;
	int64_t step_start_us;
	char *user, *password;
	int stage;
	bool want_continue;	/* a "+" completes the step (IDLE) */
	uint32_t exists, uidnext;
	uint32_t *uids;
	size_t uid_count, uid_cap;
};

static int
imapc_parse(void *parser, const void *data, size_t len, size_t *used_r,
	const char **error_r)
{
	return imap_resp_parse(parser, data, len, used_r, error_r);
}

struct imapc *
imapc_new(struct event_base *base, const struct client_opts *opts)
{
	struct imapc *c = xcalloc(1, sizeof(*c));
	c->cc = cconn_new(base, opts);
	imap_resp_parser_init(&c->parser);
	buf_init(&c->capa);
	c->step = "none";
	return c;
}

static void
imapc_free_secrets(struct imapc *c)
{
	if (c->password != NULL) {
		memset(c->password, 0, strlen(c->password));
		free(c->password);
		c->password = NULL;
	}
	free(c->user);
	c->user = NULL;
}

void
imapc_free(struct imapc **cp)
{
	struct imapc *c = *cp;
	if (c == NULL)
		return;
	*cp = NULL;
	cconn_free(&c->cc);
	imap_resp_parser_clear(&c->parser);
	buf_clear(&c->capa);
	imapc_free_secrets(c);
	free(c->uids);
	free(c);
}

static void
imapc_done(struct imapc *c, int result)
{
	imapc_cb *cb = c->cb;
	c->cb = NULL;
	c->next = NULL;
	if (cb != NULL)
		cb(c, result, c->cb_context);
}

static void
imapc_start(struct imapc *c, imapc_cb *cb, void *context)
{
	c->cb = cb;
	c->cb_context = context;
	c->next = NULL;
	c->after = NULL;
	c->step_start_us = client_now_us();
}

/* Collects capabilities from "CAPABILITY a b c" found in s (an untagged
 * line or a [CAPABILITY ...] response code). */
static void
imapc_capa_from(struct imapc *c, const char *s, size_t len)
{
	static const char word[] = "CAPABILITY ";
	const char *end = s + len;
	const char *p = s;
	while (p < end) {
		const char *hit = NULL;
		for (const char *q = p; q + sizeof(word) - 1 <= end; q++) {
			if (strncasecmp(q, word, sizeof(word) - 1) == 0) {
				hit = q;
				break;
			}
		}
		if (hit == NULL)
			return;
		/* RFC 3501 7.2.1 / 7.1: "* CAPABILITY ..." at the start of an
		 * untagged line, or the [CAPABILITY ...] response code; a word
		 * in free text ("a2 OK Capability completed.") is neither. */
		bool is_code = hit > s && hit[-1] == '[';
		bool is_line = hit - s >= 2 && hit[-1] == ' ' && hit[-2] == '*' &&
			(hit - 2 == s || hit[-3] == '\n');
		if (!is_code && !is_line) {
			p = hit + sizeof(word) - 1;
			continue;
		}
		buf_reset(&c->capa);
		buf_append_char(&c->capa, ' ');
		const char *q = hit + sizeof(word) - 1;
		while (q < end && *q != '\r' && *q != '\n' && *q != ']') {
			buf_append_char(&c->capa,
				(char)toupper((unsigned char)*q));
			q++;
		}
		buf_append_char(&c->capa, ' ');
		p = q;
	}
}

/* Reads numbers from untagged responses: EXISTS, UIDNEXT, SEARCH. */
static void
imapc_scan_untagged(struct imapc *c)
{
	const struct imap_resp *r = &c->parser.resp;
	const char *s = buf_data(&r->untagged);
	size_t len = buf_len(&r->untagged);
	const char *end = s + len;

	imapc_capa_from(c, s, len);
	imapc_capa_from(c, buf_data(&r->text), buf_len(&r->text));
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *le = nl != NULL ? nl : end;
		unsigned long n;
		int off = 0;
		if (sscanf(s, "* %lu EXISTS%n", &n, &off) == 1 && off > 0)
			c->exists = (uint32_t)n;
		const char *u = strstr(s, "[UIDNEXT ");
		if (u != NULL && u < le)
			c->uidnext = (uint32_t)strtoul(u + 9, NULL, 10);
		if ((size_t)(le - s) >= 8 && strncasecmp(s, "* SEARCH", 8) == 0) {
			const char *p = s + 8;
			while (p < le) {
				while (p < le && *p == ' ')
					p++;
				if (p >= le || !isdigit((unsigned char)*p))
					break;
				unsigned long v = strtoul(p, (char **)&p, 10);
				if (c->uid_count == c->uid_cap) {
					c->uid_cap = c->uid_cap * 2 + 64;
					c->uids = xrealloc(c->uids,
						c->uid_cap * sizeof(*c->uids));
				}
				c->uids[c->uid_count++] = (uint32_t)v;
			}
		}
		s = nl != NULL ? nl + 1 : end;
	}
}

static void
imapc_read_done(struct cconn *cc ATTR_UNUSED, int result, void *context)
{
	struct imapc *c = context;
	const struct imap_resp *r = &c->parser.resp;
	if (result == CLIENT_OK) {
		if (r->kind == IMAP_RESP_KIND_CONTINUE) {
			if (!c->want_continue) {
				cconn_set_error(c->cc, "unexpected continuation"
					" request");
				result = CLIENT_ERROR;
			}
		} else if (r->kind == IMAP_RESP_KIND_UNTAGGED) {
			result = r->status == IMAP_RESP_STATUS_OK ||
				r->status == IMAP_RESP_STATUS_PREAUTH ||
				r->status == IMAP_RESP_STATUS_NONE ?
				CLIENT_OK : CLIENT_NEGATIVE;
			imapc_scan_untagged(c);
		} else {
			result = r->status == IMAP_RESP_STATUS_OK ?
				CLIENT_OK : CLIENT_NEGATIVE;
			imapc_scan_untagged(c);
		}
	}
	cconn_timing(c->cc)->last_us = client_now_us() - c->step_start_us;
	imapc_next_fn *next = c->next;
	c->next = NULL;
	if (next != NULL && result != CLIENT_ERROR)
		next(c, result);
	else
		imapc_done(c, result);
}

static void
imapc_read(struct imapc *c, const char *tag, bool stop_at_untagged)
{
	imap_resp_parser_expect(&c->parser, tag, stop_at_untagged);
	cconn_read(c->cc, imapc_parse, &c->parser, imapc_read_done, c);
}

/* Tags and sends command, then reads up to the tagged completion. */
static void
imapc_cmd(struct imapc *c, const char *step, const char *command,
	imapc_next_fn *next)
{
	c->step = step;
	c->next = next;
	c->want_continue = false;
	snprintf(c->tag, sizeof(c->tag), "a%u", ++c->tag_seq);
	cconn_write(c->cc, c->tag, strlen(c->tag));
	cconn_write(c->cc, " ", 1);
	cconn_write(c->cc, command, strlen(command));
	cconn_write(c->cc, "\r\n", 2);
	imapc_read(c, c->tag, false);
}

/* connect */

static void
imapc_connected(struct cconn *cc ATTR_UNUSED, int result, void *context)
{
	struct imapc *c = context;
	if (result != CLIENT_OK) {
		imapc_done(c, result);
		return;
	}
	c->step = "greeting";
	c->step_start_us = client_now_us();
	c->next = c->after;
	c->want_continue = false;
	imapc_read(c, NULL, true);
}

static void
imapc_greeting_timed(struct imapc *c, int result)
{
	cconn_timing(c->cc)->greeting_us = client_now_us() - c->step_start_us;
	imapc_done(c, result);
}

static void
imapc_connect_next(struct imapc *c, imapc_next_fn *next)
{
	c->step = "connect";
	c->after = next;
	cconn_connect(c->cc, imapc_connected, c);
}

void
imapc_connect(struct imapc *c, imapc_cb *cb, void *context)
{
	imapc_start(c, cb, context);
	imapc_connect_next(c, imapc_greeting_timed);
}

void
imapc_capability(struct imapc *c, imapc_cb *cb, void *context)
{
	imapc_start(c, cb, context);
	imapc_cmd(c, "capability", "CAPABILITY", NULL);
}

bool
imapc_has_capa(const struct imapc *c, const char *capa)
{
	char want[128];
	size_t n = strlen(capa);
	if (n + 3 > sizeof(want))
		return false;
	want[0] = ' ';
	for (size_t i = 0; i < n; i++)
		want[i + 1] = (char)toupper((unsigned char)capa[i]);
	want[n + 1] = ' ';
	want[n + 2] = '\0';
	return strstr(buf_data(&c->capa), want) != NULL;
}

/* STARTTLS */

static void
imapc_tls_done(struct cconn *cc ATTR_UNUSED, int result, void *context)
{
	struct imapc *c = context;
	buf_reset(&c->capa);	/* RFC 3501 6.2.1: capabilities change */
	imapc_next_fn *after = c->after;
	c->after = NULL;
	if (after != NULL && result == CLIENT_OK)
		after(c, result);
	else
		imapc_done(c, result);
}

static void
imapc_starttls_reply(struct imapc *c, int result)
{
	if (result != CLIENT_OK) {
		imapc_done(c, result);
		return;
	}
	c->step = "tls";
	cconn_starttls(c->cc, imapc_tls_done, c);
}

static void
imapc_starttls_next(struct imapc *c, imapc_next_fn *after)
{
	c->after = after;
	imapc_cmd(c, "starttls", "STARTTLS", imapc_starttls_reply);
}

void
imapc_starttls(struct imapc *c, imapc_cb *cb, void *context)
{
	imapc_start(c, cb, context);
	imapc_starttls_next(c, NULL);
}

/* LOGIN */

/* RFC 3501 9: quoted = DQUOTE *QUOTED-CHAR DQUOTE, with " and \ escaped. */
static bool
imapc_quote(struct buf *out, const char *s)
{
	buf_append_char(out, '"');
	for (; *s != '\0'; s++) {
		if (*s == '\r' || *s == '\n')
			return false;
		if (*s == '"' || *s == '\\')
			buf_append_char(out, '\\');
		buf_append_char(out, *s);
	}
	buf_append_char(out, '"');
	return true;
}

static void
imapc_login_finish(struct imapc *c, int result)
{
	cconn_timing(c->cc)->auth_us = client_now_us() - c->step_start_us;
	imapc_next_fn *after = c->after;
	c->after = NULL;
	if (after != NULL && result == CLIENT_OK)
		after(c, result);
	else
		imapc_done(c, result);
}

static void
imapc_login_begin(struct imapc *c, imapc_next_fn *after)
{
	struct buf line;
	buf_init(&line);
	buf_append_str(&line, "LOGIN ");
	bool ok = imapc_quote(&line, c->user);
	buf_append_char(&line, ' ');
	ok = ok && imapc_quote(&line, c->password);
	imapc_free_secrets(c);
	c->after = after;
	c->step_start_us = client_now_us();
	if (!ok) {
		cconn_set_error(c->cc, "user or password contains CR/LF");
		memset(line.data, 0, buf_len(&line));
		buf_clear(&line);
		imapc_done(c, CLIENT_ERROR);
		return;
	}
	imapc_cmd(c, "login", buf_data(&line), imapc_login_finish);
	memset(line.data, 0, buf_len(&line));
	buf_clear(&line);
}

void
imapc_login(struct imapc *c, const char *user, const char *password,
	imapc_cb *cb, void *context)
{
	imapc_start(c, cb, context);
	imapc_free_secrets(c);
	c->user = xstrdup(user);
	c->password = xstrdup(password);
	imapc_login_begin(c, NULL);
}

/* open */

static void
imapc_open_step(struct imapc *c, int result)
{
	if (result != CLIENT_OK) {
		imapc_done(c, result);
		return;
	}
	if (c->stage == 0) {
		cconn_timing(c->cc)->greeting_us =
			client_now_us() - c->step_start_us;
	}
	if (c->stage < 2 && cconn_opts(c->cc)->tls == CLIENT_TLS_STARTTLS &&
	    !cconn_is_tls(c->cc)) {
		c->stage = 1;
		imapc_starttls_next(c, imapc_open_step);
		return;
	}
	if (c->stage < 2 && c->user != NULL) {
		c->stage = 2;
		imapc_login_begin(c, imapc_open_step);
		return;
	}
	imapc_done(c, CLIENT_OK);
}

void
imapc_open(struct imapc *c, const char *user, const char *password,
	imapc_cb *cb, void *context)
{
	imapc_start(c, cb, context);
	imapc_free_secrets(c);
	if (user != NULL) {
		c->user = xstrdup(user);
		c->password = xstrdup(password != NULL ? password : "");
	}
	c->stage = 0;
	imapc_connect_next(c, imapc_open_step);
}

/* selected state */

static void
imapc_simple(struct imapc *c, imapc_cb *cb, void *context, const char *step,
	const char *command)
{
	imapc_start(c, cb, context);
	imapc_cmd(c, step, command, NULL);
}

void
imapc_select(struct imapc *c, const char *mailbox, imapc_cb *cb,
	void *context)
{
	struct buf line;
	buf_init(&line);
	buf_append_str(&line, "SELECT ");
	c->exists = 0;
	c->uidnext = 0;
	if (!imapc_quote(&line, mailbox)) {
		buf_clear(&line);
		imapc_start(c, cb, context);
		cconn_set_error(c->cc, "mailbox name contains CR/LF");
		imapc_done(c, CLIENT_ERROR);
		return;
	}
	imapc_simple(c, cb, context, "select", buf_data(&line));
	buf_clear(&line);
}

void
imapc_uid_search(struct imapc *c, const char *criteria, imapc_cb *cb,
	void *context)
{
	c->uid_count = 0;
	char *line = xasprintf("UID SEARCH %s", criteria);
	imapc_simple(c, cb, context, "search", line);
	free(line);
}

void
imapc_uid_fetch_body(struct imapc *c, uint32_t uid, imapc_cb *cb,
	void *context)
{
	char line[64];
	snprintf(line, sizeof(line), "UID FETCH %u BODY.PEEK[]", uid);
	imapc_simple(c, cb, context, "fetch", line);
}

void
imapc_uid_store_deleted(struct imapc *c, uint32_t uid, imapc_cb *cb,
	void *context)
{
	char line[64];
	snprintf(line, sizeof(line), "UID STORE %u +FLAGS.SILENT (\\Deleted)",
		uid);
	imapc_simple(c, cb, context, "store", line);
}

void
imapc_expunge(struct imapc *c, imapc_cb *cb, void *context)
{
	imapc_simple(c, cb, context, "expunge", "EXPUNGE");
}

void
imapc_noop(struct imapc *c, imapc_cb *cb, void *context)
{
	imapc_simple(c, cb, context, "noop", "NOOP");
}

void
imapc_logout(struct imapc *c, imapc_cb *cb, void *context)
{
	imapc_simple(c, cb, context, "logout", "LOGOUT");
}

void
imapc_command(struct imapc *c, const char *command, imapc_cb *cb,
	void *context)
{
	imapc_simple(c, cb, context, "command", command);
}

/* IDLE (RFC 2177) */

static void
imapc_idle_reply(struct imapc *c, int result)
{
	const struct imap_resp *r = &c->parser.resp;
	if (result == CLIENT_OK && r->kind == IMAP_RESP_KIND_UNTAGGED) {
		/* Untagged data before the "+": keep waiting for it. */
		c->next = imapc_idle_reply;
		imapc_read(c, c->tag, true);
		return;
	}
	if (result == CLIENT_OK && r->kind == IMAP_RESP_KIND_TAGGED)
		result = CLIENT_NEGATIVE;	/* IDLE refused or ended */
	imapc_done(c, result);
}

void
imapc_idle(struct imapc *c, imapc_cb *cb, void *context)
{
	imapc_start(c, cb, context);
	imapc_cmd(c, "idle", "IDLE", imapc_idle_reply);
	c->want_continue = true;
	/* Untagged responses may come before the "+": stop at each. */
	imap_resp_parser_expect(&c->parser, c->tag, true);
}

static void
imapc_idle_event(struct imapc *c, int result)
{
	if (result == CLIENT_OK &&
	    c->parser.resp.kind == IMAP_RESP_KIND_TAGGED)
		result = CLIENT_NEGATIVE;	/* the server ended IDLE */
	imapc_done(c, result);
}

void
imapc_idle_wait(struct imapc *c, imapc_cb *cb, void *context)
{
	imapc_start(c, cb, context);
	c->step = "idle-wait";
	c->next = imapc_idle_event;
	c->want_continue = false;
	imapc_read(c, c->tag, true);
}

static void
imapc_idle_done_reply(struct imapc *c, int result)
{
	const struct imap_resp *r = &c->parser.resp;
	if (result != CLIENT_ERROR && r->kind == IMAP_RESP_KIND_UNTAGGED) {
		c->next = imapc_idle_done_reply;
		imapc_read(c, c->tag, true);
		return;
	}
	imapc_done(c, result);
}

void
imapc_idle_done(struct imapc *c, imapc_cb *cb, void *context)
{
	imapc_start(c, cb, context);
	c->step = "idle-done";
	c->next = imapc_idle_done_reply;
	c->want_continue = false;
	cconn_write(c->cc, "DONE\r\n", 6);
	imapc_read(c, c->tag, true);
}

const struct imap_resp *
imapc_resp(const struct imapc *c)
{
	return &c->parser.resp;
}

uint32_t
imapc_exists(const struct imapc *c)
{
	return c->exists;
}

uint32_t
imapc_uidnext(const struct imapc *c)
{
	return c->uidnext;
}

const uint32_t *
imapc_uids(const struct imapc *c, size_t *count_r)
{
	*count_r = c->uid_count;
	return c->uids;
}

const char *
imapc_step(const struct imapc *c)
{
	return c->step;
}

const char *
imapc_error(const struct imapc *c)
{
	return cconn_error(c->cc);
}

struct client_timing *
imapc_timing(struct imapc *c)
{
	return cconn_timing(c->cc);
}

bool
imapc_is_tls(const struct imapc *c)
{
	return cconn_is_tls(c->cc);
}

SSL *
imapc_ssl(const struct imapc *c)
{
	return cconn_ssl(c->cc);
}

struct cconn *
imapc_conn(struct imapc *c)
{
	return c->cc;
}
