/* smtpc.c: the SMTP client session (see smtpc.h). Every command goes through
 * smtpc_cmd(): write the line, parse one reply, classify its code, then
 * either continue an internal sequence (c->next) or call the user back. */
#include "postier.h"

#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <openssl/evp.h>

#include "core/xmalloc.h"
#include "client/cconn.h"
#include "client/smtpc.h"

typedef void smtpc_next_fn(struct smtpc *c, int result);

struct smtpc {
	struct cconn *cc;
	struct smtp_reply_parser parser;
	struct buf ehlo;	/* text of the last 250 reply to EHLO */
	struct buf ext_param;	/* returned by smtpc_has_ext() */
	const char *step;
	int want_lo, want_hi;	/* positive reply codes */
	smtpc_next_fn *next;
	smtpc_cb *cb;
	void *cb_context;
	int64_t step_start_us;
	/* smtpc_open() and smtpc_auth() sequences */
	char *helo_name, *user, *password;
	enum smtpc_auth_mech mech;
	int stage;
	smtpc_next_fn *after;	/* what runs after STARTTLS or AUTH */
	char *data_buf;		/* dot-stuffed message waiting for 354 */
	size_t data_len;
	/* or the caller's, needing no stuffing (array and bytes borrowed) */
	const struct iovec *data_iov;
	int data_iovcnt;
	struct iovec data_one;	/* data_iov of a message in one piece */
	struct buf tail;	/* end of data and what follows it */
	/* smtpc_send_message() */
	char **tx_cmds;		/* MAIL, RCPT..., DATA lines */
	unsigned int tx_n;	/* number of commands */
	unsigned int tx_accepted;	/* recipients accepted */
	bool tx_pipelined;
	bool tx_partial;	/* some recipients refused */
	/* the next transaction's MAIL, RCPT and DATA, to go after this end
	 * of data (pending) or gone (sent: their replies are due) */
	struct buf next_group;
	bool next_pending, next_sent;
};

static void smtpc_tx_clear(struct smtpc *c);

static int
smtpc_parse(void *parser, const void *data, size_t len, size_t *used_r,
	const char **error_r)
{
	return smtp_reply_parse(parser, data, len, used_r, error_r);
}

struct smtpc *
smtpc_new(struct event_base *base, const struct client_opts *opts)
{
	struct smtpc *c = xcalloc(1, sizeof(*c));
	c->cc = cconn_new(base, opts);
	smtp_reply_parser_init(&c->parser);
	buf_init(&c->ehlo);
	buf_init(&c->ext_param);
	buf_init(&c->tail);
	buf_init(&c->next_group);
	c->step = "none";
	return c;
}

static void
smtpc_free_secrets(struct smtpc *c)
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
smtpc_free(struct smtpc **cp)
{
	struct smtpc *c = *cp;
	if (c == NULL)
		return;
	*cp = NULL;
	cconn_free(&c->cc);
	smtp_reply_parser_clear(&c->parser);
	buf_clear(&c->ehlo);
	buf_clear(&c->ext_param);
	buf_clear(&c->tail);
	buf_clear(&c->next_group);
	smtpc_free_secrets(c);
	free(c->helo_name);
	free(c->data_buf);
	smtpc_tx_clear(c);
	free(c);
}

static void
smtpc_done(struct smtpc *c, int result)
{
	smtpc_cb *cb = c->cb;
	c->cb = NULL;
	c->next = NULL;
	if (cb != NULL)
		cb(c, result, c->cb_context);
}

static void
smtpc_start(struct smtpc *c, smtpc_cb *cb, void *context)
{
	/* commands already sent for the next transaction: only
	 * smtpc_send_message_iov() may come next (smtpc.h) */
	PASSERT(!c->next_sent);
	c->cb = cb;
	c->cb_context = context;
	c->next = NULL;
	c->step_start_us = client_now_us();
}

static void
smtpc_read_done(struct cconn *cc ATTR_UNUSED, int result, void *context)
{
	struct smtpc *c = context;
	if (result == CLIENT_OK) {
		int code = c->parser.reply.code;
		result = code >= c->want_lo && code <= c->want_hi ?
			CLIENT_OK : CLIENT_NEGATIVE;
	}
	cconn_timing(c->cc)->last_us = client_now_us() - c->step_start_us;
	smtpc_next_fn *next = c->next;
	c->next = NULL;
	if (next != NULL && result != CLIENT_ERROR)
		next(c, result);
	else
		smtpc_done(c, result);
}

/* Sends line (NULL: only read) and expects a reply in [lo, hi]. */
static void
smtpc_cmd(struct smtpc *c, const char *step, const char *line, int lo, int hi,
	smtpc_next_fn *next)
{
	c->step = step;
	c->want_lo = lo;
	c->want_hi = hi;
	c->next = next;
	smtp_reply_parser_reset(&c->parser);
	if (line != NULL) {
		cconn_write(c->cc, line, strlen(line));
		cconn_write(c->cc, "\r\n", 2);
	}
	cconn_read(c->cc, smtpc_parse, &c->parser, smtpc_read_done, c);
}

/* connect */

static void
smtpc_connected(struct cconn *cc ATTR_UNUSED, int result, void *context)
{
	struct smtpc *c = context;
	if (result != CLIENT_OK) {
		smtpc_done(c, result);
		return;
	}
	c->step_start_us = client_now_us();
	smtpc_cmd(c, "greeting", NULL, 220, 220, c->next);
}

static void
smtpc_connect_next(struct smtpc *c, smtpc_next_fn *next)
{
	c->step = "connect";
	smtp_reply_parser_reset(&c->parser);
	c->next = next;
	cconn_connect(c->cc, smtpc_connected, c);
}

static void
smtpc_greeting_timed(struct smtpc *c, int result)
{
	cconn_timing(c->cc)->greeting_us = client_now_us() - c->step_start_us;
	smtpc_done(c, result);
}

void
smtpc_connect(struct smtpc *c, smtpc_cb *cb, void *context)
{
	smtpc_start(c, cb, context);
	smtpc_connect_next(c, smtpc_greeting_timed);
}

/* EHLO / HELO */

static void
smtpc_ehlo_done(struct smtpc *c, int result)
{
	if (result == CLIENT_OK) {
		buf_reset(&c->ehlo);
		buf_append(&c->ehlo, buf_data(&c->parser.reply.text),
			buf_len(&c->parser.reply.text));
	}
	smtpc_done(c, result);
}

static void
smtpc_ehlo_line(struct smtpc *c, const char *verb, const char *name,
	smtpc_next_fn *next)
{
	char *line = xasprintf("%s %s", verb, name);
	smtpc_cmd(c, verb[0] == 'E' ? "ehlo" : "helo", line, 250, 250, next);
	free(line);
}

void
smtpc_ehlo(struct smtpc *c, const char *name, smtpc_cb *cb, void *context)
{
	smtpc_start(c, cb, context);
	smtpc_ehlo_line(c, "EHLO", name, smtpc_ehlo_done);
}

void
smtpc_helo(struct smtpc *c, const char *name, smtpc_cb *cb, void *context)
{
	smtpc_start(c, cb, context);
	buf_reset(&c->ehlo);
	smtpc_ehlo_line(c, "HELO", name, NULL);
}

/* STARTTLS */

static void
smtpc_tls_done(struct cconn *cc ATTR_UNUSED, int result, void *context)
{
	struct smtpc *c = context;
	buf_reset(&c->ehlo);	/* RFC 3207 4.2: forget what was learnt */
	smtpc_next_fn *next = c->next;
	c->next = NULL;
	if (next != NULL && result == CLIENT_OK)
		next(c, result);
	else
		smtpc_done(c, result);
}

static void
smtpc_starttls_reply(struct smtpc *c, int result)
{
	if (result != CLIENT_OK) {
		smtpc_done(c, result);
		return;
	}
	c->step = "tls";
	c->next = c->after;
	c->after = NULL;
	cconn_starttls(c->cc, smtpc_tls_done, c);
}

/* Runs STARTTLS, then next (or the user callback when NULL). */
static void
smtpc_starttls_next(struct smtpc *c, smtpc_next_fn *next)
{
	c->after = next;
	smtpc_cmd(c, "starttls", "STARTTLS", 220, 220, smtpc_starttls_reply);
}

void
smtpc_starttls(struct smtpc *c, smtpc_cb *cb, void *context)
{
	smtpc_start(c, cb, context);
	smtpc_starttls_next(c, NULL);
}

/* AUTH */

static char *
smtpc_b64(const void *data, size_t len)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

static void smtpc_auth_step(struct smtpc *c, int result);

static void
smtpc_auth_finish(struct smtpc *c, int result)
{
	cconn_timing(c->cc)->auth_us = client_now_us() - c->step_start_us;
	smtpc_free_secrets(c);
	smtpc_next_fn *after = c->after;
	c->after = NULL;
	if (after != NULL && result == CLIENT_OK)
		after(c, result);
	else
		smtpc_done(c, result);
}

static void
smtpc_auth_step(struct smtpc *c, int result)
{
	char *line;

	if (result != CLIENT_OK) {
		smtpc_auth_finish(c, result);
		return;
	}
	switch (c->stage++) {
	case 0:
		/* AUTH LOGIN got 334: send the user name. */
		line = smtpc_b64(c->user, strlen(c->user));
		smtpc_cmd(c, "auth", line, 334, 334, smtpc_auth_step);
		break;
	case 1:
		line = smtpc_b64(c->password, strlen(c->password));
		smtpc_cmd(c, "auth", line, 235, 235, smtpc_auth_finish);
		memset(line, 0, strlen(line));
		break;
	default:
		PASSERT(false);
	}
	free(line);
}

static void
smtpc_auth_begin(struct smtpc *c, smtpc_next_fn *after)
{
	enum smtpc_auth_mech mech = c->mech;
	const char *param = NULL;

	c->after = after;
	c->step_start_us = client_now_us();
	if (mech == SMTPC_AUTH_AUTO) {
		mech = SMTPC_AUTH_PLAIN;
		if (smtpc_has_ext(c, "AUTH", &param) && strstr(param, "PLAIN") ==
		    NULL && strstr(param, "LOGIN") != NULL)
			mech = SMTPC_AUTH_LOGIN;
	}
	if (mech == SMTPC_AUTH_LOGIN) {
		c->stage = 0;
		smtpc_cmd(c, "auth", "AUTH LOGIN", 334, 334, smtpc_auth_step);
		return;
	}
	/* RFC 4616 2: message = [authzid] UTF8NUL authcid UTF8NUL passwd */
	size_t ul = strlen(c->user), pl = strlen(c->password);
	char *raw = xmalloc(ul + pl + 2);
	raw[0] = '\0';
	memcpy(raw + 1, c->user, ul);
	raw[ul + 1] = '\0';
	memcpy(raw + ul + 2, c->password, pl);
	char *b64 = smtpc_b64(raw, ul + pl + 2);
	char *line = xasprintf("AUTH PLAIN %s", b64);
	smtpc_cmd(c, "auth", line, 235, 235, smtpc_auth_finish);
	memset(raw, 0, ul + pl + 2);
	memset(b64, 0, strlen(b64));
	memset(line, 0, strlen(line));
	free(raw);
	free(b64);
	free(line);
}

void
smtpc_auth(struct smtpc *c, enum smtpc_auth_mech mech, const char *user,
	const char *password, smtpc_cb *cb, void *context)
{
	smtpc_start(c, cb, context);
	smtpc_free_secrets(c);
	c->user = xstrdup(user);
	c->password = xstrdup(password);
	c->mech = mech;
	smtpc_auth_begin(c, NULL);
}

/* open: connect, greeting, EHLO, [STARTTLS, EHLO], [AUTH] */

static void smtpc_open_step(struct smtpc *c, int result);

static void
smtpc_open_step(struct smtpc *c, int result)
{
	if (result != CLIENT_OK) {
		smtpc_done(c, result);
		return;
	}
	switch (c->stage) {
	case 0:		/* greeting */
		cconn_timing(c->cc)->greeting_us =
			client_now_us() - c->step_start_us;
		c->stage = 1;
		smtpc_ehlo_line(c, "EHLO", c->helo_name, smtpc_open_step);
		return;
	case 1:		/* EHLO */
		buf_reset(&c->ehlo);
		buf_append(&c->ehlo, buf_data(&c->parser.reply.text),
			buf_len(&c->parser.reply.text));
		if (cconn_opts(c->cc)->tls == CLIENT_TLS_STARTTLS &&
		    !cconn_is_tls(c->cc)) {
			c->stage = 2;
			smtpc_starttls_next(c, smtpc_open_step);
			return;
		}
		if (c->user != NULL) {
			c->stage = 3;
			smtpc_auth_begin(c, smtpc_open_step);
			return;
		}
		smtpc_done(c, CLIENT_OK);
		return;
	case 2:		/* TLS up: RFC 3207 4.2, EHLO again */
		c->stage = 1;
		smtpc_ehlo_line(c, "EHLO", c->helo_name, smtpc_open_step);
		return;
	default:	/* AUTH done */
		smtpc_done(c, CLIENT_OK);
		return;
	}
}

void
smtpc_open(struct smtpc *c, const char *helo_name, const char *user,
	const char *password, smtpc_cb *cb, void *context)
{
	smtpc_start(c, cb, context);
	free(c->helo_name);
	c->helo_name = xstrdup(helo_name != NULL ? helo_name : "localhost");
	smtpc_free_secrets(c);
	if (user != NULL) {
		c->user = xstrdup(user);
		c->password = xstrdup(password != NULL ? password : "");
	}
	c->mech = SMTPC_AUTH_AUTO;
	c->stage = 0;
	smtpc_connect_next(c, smtpc_open_step);
}

/* transaction */

void
smtpc_mail(struct smtpc *c, const char *from, size_t size, smtpc_cb *cb,
	void *context)
{
	smtpc_start(c, cb, context);
	char *line;
	if (size > 0 && smtpc_has_ext(c, "SIZE", NULL))
		line = xasprintf("MAIL FROM:<%s> SIZE=%zu", from, size);
	else
		line = xasprintf("MAIL FROM:<%s>", from);
	smtpc_cmd(c, "mail", line, 250, 250, NULL);
	free(line);
}

void
smtpc_rcpt(struct smtpc *c, const char *to, smtpc_cb *cb, void *context)
{
	smtpc_start(c, cb, context);
	char *line = xasprintf("RCPT TO:<%s>", to);
	smtpc_cmd(c, "rcpt", line, 250, 251, NULL);
	free(line);
}

static void
smtpc_free_ref(const void *data, size_t len ATTR_UNUSED, void *ctx ATTR_UNUSED)
{
	free((void *)data);
}

/* RFC 5321 4.5.2: a line starting with "." gets one more "." Only the
 * dots are looked for (memchr is fast and most text has few), then
 * whether each starts a line. */
static char *
smtpc_dot_stuff(const char *msg, size_t len, size_t *out_len_r)
{
	struct buf out;
	buf_init(&out);
	buf_reserve(&out, len + 8);
	size_t done = 0, pos = 0;
	while (pos < len) {
		const char *dot = memchr(msg + pos, '.', len - pos);
		if (dot == NULL)
			break;
		size_t at = (size_t)(dot - msg);
		if (at == 0 || msg[at - 1] == '\n') {
			buf_append(&out, msg + done, at - done);
			buf_append_char(&out, '.');
			done = at;
		}
		pos = at + 1;
	}
	buf_append(&out, msg + done, len - done);
	if (len > 0 && msg[len - 1] != '\n')
		buf_append(&out, "\r\n", 2);
	buf_append(&out, ".\r\n", 3);
	*out_len_r = buf_len(&out);
	return buf_steal(&out);
}

/* Writes the message held in data_buf or data_iov, ".", and the next
 * transaction's commands when pending, then reads the reply to the end of
 * data and continues with next. */
static void
smtpc_data_go_then(struct smtpc *c, smtpc_next_fn *next)
{
	char *stuffed = c->data_buf;
	const struct iovec *iov = c->data_iov;
	c->data_buf = NULL;
	c->data_iov = NULL;
	buf_reset(&c->tail);
	if (iov != NULL) {
		const struct iovec *last = c->data_iovcnt > 0 ?
			&iov[c->data_iovcnt - 1] : NULL;
		if (last == NULL || last->iov_len == 0 ||
		    ((const char *)last->iov_base)[last->iov_len - 1] != '\n')
			buf_append(&c->tail, "\r\n", 2);
		buf_append(&c->tail, ".\r\n", 3);
	}
	if (c->next_pending) {
		/* RFC 2920 3.1: the message may start a group, so the end of
		 * data and the next MAIL, RCPT and DATA go in one write */
		buf_append(&c->tail, buf_data(&c->next_group),
			buf_len(&c->next_group));
		c->next_pending = false;
		c->next_sent = true;
	}
	if (iov != NULL) {
		cconn_writev_borrowed(c->cc, iov, c->data_iovcnt,
			buf_data(&c->tail), buf_len(&c->tail));
	} else {
		cconn_write_ref(c->cc, stuffed, c->data_len, smtpc_free_ref,
			NULL);
		if (buf_len(&c->tail) > 0)
			cconn_write(c->cc, buf_data(&c->tail),
				buf_len(&c->tail));
	}
	smtpc_cmd(c, "data-end", NULL, 250, 250, next);
}

static void
smtpc_data_go(struct smtpc *c, int result)
{
	if (result != CLIENT_OK) {
		free(c->data_buf);
		c->data_buf = NULL;
		c->data_iov = NULL;
		smtpc_done(c, result);
		return;
	}
	smtpc_data_go_then(c, NULL);
}

void
smtpc_data(struct smtpc *c, const void *msg, size_t len, smtpc_cb *cb,
	void *context)
{
	smtpc_start(c, cb, context);
	/* Stuffed right away so the caller's copy may go when we return. */
	free(c->data_buf);
	c->data_iov = NULL;
	c->data_buf = smtpc_dot_stuff(msg, len, &c->data_len);
	smtpc_cmd(c, "data", "DATA", 354, 354, smtpc_data_go);
}

/* Does msg have a line starting with "."? */
static bool
smtpc_needs_stuffing(const char *msg, size_t len)
{
	for (size_t pos = 0; pos < len;) {
		const char *dot = memchr(msg + pos, '.', len - pos);
		if (dot == NULL)
			return false;
		if (dot == msg || dot[-1] == '\n')
			return true;
		pos = (size_t)(dot - msg) + 1;
	}
	return false;
}

void
smtpc_data_borrow(struct smtpc *c, const void *msg, size_t len, smtpc_cb *cb,
	void *context)
{
	if (smtpc_needs_stuffing(msg, len)) {
		smtpc_data(c, msg, len, cb, context);
		return;
	}
	smtpc_start(c, cb, context);
	free(c->data_buf);
	c->data_buf = NULL;
	c->data_one.iov_base = (void *)msg;
	c->data_one.iov_len = len;
	c->data_iov = &c->data_one;
	c->data_iovcnt = 1;
	c->data_len = len;
	smtpc_cmd(c, "data", "DATA", 354, 354, smtpc_data_go);
}

/* smtpc_send_message(): stage i reads the reply to tx_cmds[i]. */

static void
smtpc_tx_clear(struct smtpc *c)
{
	/* tx_cmds only when not pipelining */
	for (unsigned int i = 0; c->tx_cmds != NULL && i < c->tx_n; i++)
		free(c->tx_cmds[i]);
	free(c->tx_cmds);
	c->tx_cmds = NULL;
	c->tx_n = 0;
}

static void
smtpc_tx_write(struct smtpc *c, unsigned int i)
{
	cconn_write(c->cc, c->tx_cmds[i], strlen(c->tx_cmds[i]));
	cconn_write(c->cc, "\r\n", 2);
}

static void
smtpc_tx_fail(struct smtpc *c, int result)
{
	free(c->data_buf);
	c->data_buf = NULL;
	c->data_iov = NULL;
	c->next_pending = false;
	smtpc_tx_clear(c);
	smtpc_done(c, result);
}

static void
smtpc_tx_end(struct smtpc *c, int result)
{
	smtpc_tx_clear(c);
	if (result == CLIENT_OK && c->tx_partial) {
		c->step = "rcpt";
		result = CLIENT_NEGATIVE;
	}
	smtpc_done(c, result);
}

static void smtpc_tx_reply(struct smtpc *c, int result);

/* Reads the reply of stage c->stage (writing its command first when not
 * pipelining). */
static void
smtpc_tx_read(struct smtpc *c)
{
	unsigned int i = (unsigned int)c->stage;
	if (!c->tx_pipelined)
		smtpc_tx_write(c, i);
	if (i == 0)
		smtpc_cmd(c, "mail", NULL, 250, 250, smtpc_tx_reply);
	else if (i + 1 < c->tx_n)
		smtpc_cmd(c, "rcpt", NULL, 250, 251, smtpc_tx_reply);
	else
		smtpc_cmd(c, "data", NULL, 354, 354, smtpc_tx_reply);
}

static void
smtpc_tx_reply(struct smtpc *c, int result)
{
	unsigned int i = (unsigned int)c->stage;
	if (i == 0 && result != CLIENT_OK && !c->tx_pipelined) {
		smtpc_tx_fail(c, result);
		return;
	}
	if (i > 0 && i + 1 < c->tx_n) {
		if (result == CLIENT_OK)
			c->tx_accepted++;
		else
			c->tx_partial = true;
		if (!c->tx_pipelined && i + 2 == c->tx_n &&
		    c->tx_accepted == 0) {
			/* every recipient refused: no DATA */
			c->step = "rcpt";
			smtpc_tx_fail(c, CLIENT_NEGATIVE);
			return;
		}
	}
	if (i + 1 < c->tx_n) {
		if (i == 0 && result != CLIENT_OK)
			c->tx_partial = true;
		c->stage++;
		smtpc_tx_read(c);
		return;
	}
	/* the reply to DATA */
	if (result != CLIENT_OK) {
		smtpc_tx_fail(c, result);
		return;
	}
	if (c->tx_accepted == 0) {
		/* 354 though nobody was accepted: end it empty-handed */
		free(c->data_buf);
		c->data_buf = NULL;
		c->data_iov = NULL;
		c->next_pending = false;
		c->tx_partial = true;
		cconn_write(c->cc, ".\r\n", 3);
		smtpc_cmd(c, "data-end", NULL, 250, 250, smtpc_tx_end);
		return;
	}
	smtpc_data_go_then(c, smtpc_tx_end);
}

/* Appends the pipelined group of a transaction: MAIL, RCPT..., DATA
 * (appended piece by piece: printf costs more than the rest). */
static void
smtpc_tx_group(const struct smtpc *c, struct buf *out,
	const struct smtpc_envelope *env)
{
	buf_append_str(out, "MAIL FROM:<");
	buf_append_str(out, env->from);
	buf_append_char(out, '>');
	if (env->size > 0 && smtpc_has_ext(c, "SIZE", NULL)) {
		char num[24];
		size_t n = 0;
		size_t v = env->size;
		do {
			num[sizeof(num) - ++n] = (char)('0' + v % 10);
			v /= 10;
		} while (v > 0);
		buf_append_str(out, " SIZE=");
		buf_append(out, num + sizeof(num) - n, n);
	}
	buf_append(out, "\r\n", 2);
	for (unsigned int i = 0; i < env->n_rcpts; i++) {
		buf_append_str(out, "RCPT TO:<");
		buf_append_str(out, env->rcpts[i]);
		buf_append(out, ">\r\n", 3);
	}
	buf_append(out, "DATA\r\n", 6);
}

/* Starts the transaction of env whose message is already in data_buf or
 * data_iov. presented: its commands went after the last end of data. */
static void
smtpc_tx_begin(struct smtpc *c, const struct smtpc_envelope *env,
	bool presented)
{
	c->tx_n = env->n_rcpts + 2;
	c->tx_accepted = 0;
	c->tx_partial = false;
	c->tx_pipelined = smtpc_has_ext(c, "PIPELINING", NULL);
	c->stage = 0;
	if (c->tx_pipelined) {
		/* RFC 2920 3.1: DATA ends the group; one write for all */
		struct buf group;
		buf_init(&group);
		smtpc_tx_group(c, &group, env);
		if (presented) {
			/* the caller broke smtpc.h's contract otherwise */
			const struct buf *sent = &c->next_group;
			PASSERT(buf_len(&group) == buf_len(sent) &&
				memcmp(buf_data(&group), buf_data(sent),
					buf_len(&group)) == 0);
		} else {
			cconn_write(c->cc, buf_data(&group), buf_len(&group));
		}
		buf_clear(&group);
		smtpc_tx_read(c);
		return;
	}
	PASSERT(!presented);
	c->tx_cmds = xcalloc(c->tx_n, sizeof(char *));
	if (env->size > 0 && smtpc_has_ext(c, "SIZE", NULL))
		c->tx_cmds[0] = xasprintf("MAIL FROM:<%s> SIZE=%zu", env->from,
			env->size);
	else
		c->tx_cmds[0] = xasprintf("MAIL FROM:<%s>", env->from);
	for (unsigned int i = 0; i < env->n_rcpts; i++)
		c->tx_cmds[i + 1] = xasprintf("RCPT TO:<%s>", env->rcpts[i]);
	c->tx_cmds[c->tx_n - 1] = xstrdup("DATA");
	smtpc_tx_read(c);
}

void
smtpc_send_message(struct smtpc *c, const char *from, size_t size,
	const char *const *rcpts, unsigned int n_rcpts, const void *msg,
	size_t len, bool borrow, smtpc_cb *cb, void *context)
{
	smtpc_start(c, cb, context);
	smtpc_tx_clear(c);
	free(c->data_buf);
	c->data_buf = NULL;
	c->data_iov = NULL;
	c->next_pending = false;
	if (borrow && !smtpc_needs_stuffing(msg, len)) {
		c->data_one.iov_base = (void *)msg;
		c->data_one.iov_len = len;
		c->data_iov = &c->data_one;
		c->data_iovcnt = 1;
		c->data_len = len;
	} else {
		c->data_buf = smtpc_dot_stuff(msg, len, &c->data_len);
	}
	struct smtpc_envelope env = { .from = from, .size = size,
		.rcpts = rcpts, .n_rcpts = n_rcpts };
	smtpc_tx_begin(c, &env, false);
}

void
smtpc_send_message_iov(struct smtpc *c, const struct smtpc_envelope *env,
	const struct iovec *msg, int msg_iovcnt,
	const struct smtpc_envelope *next, smtpc_cb *cb, void *context)
{
	bool presented = c->next_sent;
	c->next_sent = false;
	smtpc_start(c, cb, context);
	smtpc_tx_clear(c);
	free(c->data_buf);
	c->data_buf = NULL;
	c->data_iov = msg;
	c->data_iovcnt = msg_iovcnt;
	c->data_len = 0;
#ifndef NDEBUG
	/* the caller's promise (smtpc.h), checked in debug builds */
	char prev = '\n';
#endif
	for (int i = 0; i < msg_iovcnt; i++) {
#ifndef NDEBUG
		const char *p = msg[i].iov_base;
		for (size_t k = 0; k < msg[i].iov_len; k++) {
			PASSERT(p[k] != '.' || prev != '\n');
			prev = p[k];
		}
#endif
		c->data_len += msg[i].iov_len;
	}
	c->next_pending = false;
	smtpc_tx_begin(c, env, presented);
	/* after smtpc_tx_begin() compared the group sent last time */
	if (next != NULL && c->tx_pipelined) {
		buf_reset(&c->next_group);
		smtpc_tx_group(c, &c->next_group, next);
		c->next_pending = true;
	}
}

bool
smtpc_next_sent(const struct smtpc *c)
{
	return c->next_sent;
}

void
smtpc_rset(struct smtpc *c, smtpc_cb *cb, void *context)
{
	smtpc_start(c, cb, context);
	smtpc_cmd(c, "rset", "RSET", 250, 250, NULL);
}

void
smtpc_noop(struct smtpc *c, smtpc_cb *cb, void *context)
{
	smtpc_start(c, cb, context);
	smtpc_cmd(c, "noop", "NOOP", 250, 250, NULL);
}

void
smtpc_quit(struct smtpc *c, smtpc_cb *cb, void *context)
{
	smtpc_start(c, cb, context);
	smtpc_cmd(c, "quit", "QUIT", 221, 221, NULL);
}

void
smtpc_command(struct smtpc *c, const char *line, smtpc_cb *cb, void *context)
{
	smtpc_start(c, cb, context);
	smtpc_cmd(c, "command", line, 200, 399, NULL);
}

const struct smtp_reply *
smtpc_reply(const struct smtpc *c)
{
	return &c->parser.reply;
}

bool
smtpc_has_ext(const struct smtpc *c, const char *ext, const char **param_r)
{
	struct smtp_reply r = { .code = 250, .text = c->ehlo };
	const char *p;
	size_t pl;
	if (!smtp_reply_has_keyword(&r, ext, &p, &pl))
		return false;
	if (param_r != NULL) {
		struct buf *bp = (struct buf *)&c->ext_param;
		buf_reset(bp);
		buf_append(bp, p, pl);
		*param_r = buf_data(bp);
	}
	return true;
}

const char *
smtpc_step(const struct smtpc *c)
{
	return c->step;
}

const char *
smtpc_error(const struct smtpc *c)
{
	return cconn_error(c->cc);
}

struct client_timing *
smtpc_timing(struct smtpc *c)
{
	return cconn_timing(c->cc);
}

bool
smtpc_is_tls(const struct smtpc *c)
{
	return cconn_is_tls(c->cc);
}

SSL *
smtpc_ssl(const struct smtpc *c)
{
	return cconn_ssl(c->cc);
}

struct cconn *
smtpc_conn(struct smtpc *c)
{
	return c->cc;
}
