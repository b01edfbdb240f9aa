/* pop3c.c: the POP3 client session (see pop3c.h). Same shape as smtpc.c:
 * pop3c_cmd() writes a line, parses one response, then continues an
 * internal sequence or calls the user back. */
#include "postier.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xmalloc.h"
#include "client/cconn.h"
#include "client/pop3c.h"

typedef void pop3c_next_fn(struct pop3c *c, int result);

struct pop3c {
	struct cconn *cc;
	struct pop3_reply_parser parser;
	struct buf capa;
	const char *step;
	pop3c_next_fn *next;
	pop3c_next_fn *after;
	pop3c_cb *cb;
	void *cb_context;
	int64_t step_start_us;
	char *user, *password;
	int stage;
	unsigned int *count_r;
	uint64_t *octets_r;
	struct pop3c_uidl *uidl;
	size_t uidl_count, uidl_cap;
};

static int
pop3c_parse(void *parser, const void *data, size_t len, size_t *used_r,
	const char **error_r)
{
	return pop3_reply_parse(parser, data, len, used_r, error_r);
}

struct pop3c *
pop3c_new(struct event_base *base, const struct client_opts *opts)
{
	struct pop3c *c = xcalloc(1, sizeof(*c));
	c->cc = cconn_new(base, opts);
	pop3_reply_parser_init(&c->parser);
	buf_init(&c->capa);
	c->step = "none";
	return c;
}

static void
pop3c_free_secrets(struct pop3c *c)
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
pop3c_free(struct pop3c **cp)
{
	struct pop3c *c = *cp;
	if (c == NULL)
		return;
	*cp = NULL;
	cconn_free(&c->cc);
	pop3_reply_parser_clear(&c->parser);
	buf_clear(&c->capa);
	pop3c_free_secrets(c);
	free(c->uidl);
	free(c);
}

static void
pop3c_done(struct pop3c *c, int result)
{
	pop3c_cb *cb = c->cb;
	c->cb = NULL;
	c->next = NULL;
	if (cb != NULL)
		cb(c, result, c->cb_context);
}

static void
pop3c_start(struct pop3c *c, pop3c_cb *cb, void *context)
{
	c->cb = cb;
	c->cb_context = context;
	c->next = NULL;
	c->after = NULL;
	c->step_start_us = client_now_us();
}

static void
pop3c_read_done(struct cconn *cc ATTR_UNUSED, int result, void *context)
{
	struct pop3c *c = context;
	if (result == CLIENT_OK && c->parser.reply.status != POP3_STATUS_OK)
		result = CLIENT_NEGATIVE;
	cconn_timing(c->cc)->last_us = client_now_us() - c->step_start_us;
	pop3c_next_fn *next = c->next;
	c->next = NULL;
	if (next != NULL && result != CLIENT_ERROR)
		next(c, result);
	else
		pop3c_done(c, result);
}

static void
pop3c_cmd(struct pop3c *c, const char *step, const char *line, bool multiline,
	pop3c_next_fn *next)
{
	c->step = step;
	c->next = next;
	pop3_reply_parser_expect(&c->parser, multiline);
	if (line != NULL) {
		cconn_write(c->cc, line, strlen(line));
		cconn_write(c->cc, "\r\n", 2);
	}
	cconn_read(c->cc, pop3c_parse, &c->parser, pop3c_read_done, c);
}

/* connect */

static void
pop3c_connected(struct cconn *cc ATTR_UNUSED, int result, void *context)
{
	struct pop3c *c = context;
	if (result != CLIENT_OK) {
		pop3c_done(c, result);
		return;
	}
	c->step_start_us = client_now_us();
	pop3c_cmd(c, "greeting", NULL, false, c->after);
}

static void
pop3c_greeting_timed(struct pop3c *c, int result)
{
	cconn_timing(c->cc)->greeting_us = client_now_us() - c->step_start_us;
	pop3c_done(c, result);
}

static void
pop3c_connect_next(struct pop3c *c, pop3c_next_fn *next)
{
	c->step = "connect";
	c->after = next;
	cconn_connect(c->cc, pop3c_connected, c);
}

void
pop3c_connect(struct pop3c *c, pop3c_cb *cb, void *context)
{
	pop3c_start(c, cb, context);
	pop3c_connect_next(c, pop3c_greeting_timed);
}

/* CAPA */

static void
pop3c_capa_done(struct pop3c *c, int result)
{
	if (result == CLIENT_OK) {
		buf_reset(&c->capa);
		buf_append(&c->capa, buf_data(&c->parser.reply.body),
			buf_len(&c->parser.reply.body));
	}
	pop3c_done(c, result);
}

void
pop3c_capa(struct pop3c *c, pop3c_cb *cb, void *context)
{
	pop3c_start(c, cb, context);
	pop3c_cmd(c, "capa", "CAPA", true, pop3c_capa_done);
}

bool
pop3c_has_capa(const struct pop3c *c, const char *capa)
{
	size_t cl = strlen(capa);
	const char *s = buf_data(&c->capa);
	while (*s != '\0') {
		const char *end = strstr(s, "\r\n");
		size_t ll = end != NULL ? (size_t)(end - s) : strlen(s);
		if (ll >= cl && strncasecmp(s, capa, cl) == 0 &&
		    (ll == cl || s[cl] == ' '))
			return true;
		if (end == NULL)
			break;
		s = end + 2;
	}
	return false;
}

/* STLS */

static void
pop3c_tls_done(struct cconn *cc ATTR_UNUSED, int result, void *context)
{
	struct pop3c *c = context;
	buf_reset(&c->capa);
	pop3c_next_fn *after = c->after;
	c->after = NULL;
	if (after != NULL && result == CLIENT_OK)
		after(c, result);
	else
		pop3c_done(c, result);
}

static void
pop3c_stls_reply(struct pop3c *c, int result)
{
	if (result != CLIENT_OK) {
		pop3c_done(c, result);
		return;
	}
	c->step = "tls";
	cconn_starttls(c->cc, pop3c_tls_done, c);
}

static void
pop3c_stls_next(struct pop3c *c, pop3c_next_fn *after)
{
	c->after = after;
	pop3c_cmd(c, "stls", "STLS", false, pop3c_stls_reply);
}

void
pop3c_stls(struct pop3c *c, pop3c_cb *cb, void *context)
{
	pop3c_start(c, cb, context);
	pop3c_stls_next(c, NULL);
}

/* USER / PASS */

static void
pop3c_login_finish(struct pop3c *c, int result)
{
	cconn_timing(c->cc)->auth_us = client_now_us() - c->step_start_us;
	pop3c_free_secrets(c);
	pop3c_next_fn *after = c->after;
	c->after = NULL;
	if (after != NULL && result == CLIENT_OK)
		after(c, result);
	else
		pop3c_done(c, result);
}

static void
pop3c_login_pass(struct pop3c *c, int result)
{
	if (result != CLIENT_OK) {
		pop3c_login_finish(c, result);
		return;
	}
	char *line = xasprintf("PASS %s", c->password);
	pop3c_cmd(c, "pass", line, false, pop3c_login_finish);
	memset(line, 0, strlen(line));
	free(line);
}

static void
pop3c_login_begin(struct pop3c *c, pop3c_next_fn *after)
{
	c->after = after;
	c->step_start_us = client_now_us();
	if (strpbrk(c->user, "\r\n") != NULL ||
	    strpbrk(c->password, "\r\n") != NULL) {
		cconn_set_error(c->cc, "user or password contains CR/LF");
		pop3c_free_secrets(c);
		pop3c_done(c, CLIENT_ERROR);
		return;
	}
	char *line = xasprintf("USER %s", c->user);
	pop3c_cmd(c, "user", line, false, pop3c_login_pass);
	free(line);
}

void
pop3c_login(struct pop3c *c, const char *user, const char *password,
	pop3c_cb *cb, void *context)
{
	pop3c_start(c, cb, context);
	pop3c_free_secrets(c);
	c->user = xstrdup(user);
	c->password = xstrdup(password);
	pop3c_login_begin(c, NULL);
}

/* open */

static void
pop3c_open_step(struct pop3c *c, int result)
{
	if (result != CLIENT_OK) {
		pop3c_done(c, result);
		return;
	}
	if (c->stage == 0) {
		cconn_timing(c->cc)->greeting_us =
			client_now_us() - c->step_start_us;
	}
	if (c->stage < 2 && cconn_opts(c->cc)->tls == CLIENT_TLS_STARTTLS &&
	    !cconn_is_tls(c->cc)) {
		c->stage = 1;
		pop3c_stls_next(c, pop3c_open_step);
		return;
	}
	if (c->stage < 2 && c->user != NULL) {
		c->stage = 2;
		pop3c_login_begin(c, pop3c_open_step);
		return;
	}
	pop3c_done(c, CLIENT_OK);
}

void
pop3c_open(struct pop3c *c, const char *user, const char *password,
	pop3c_cb *cb, void *context)
{
	pop3c_start(c, cb, context);
	pop3c_free_secrets(c);
	if (user != NULL) {
		c->user = xstrdup(user);
		c->password = xstrdup(password != NULL ? password : "");
	}
	c->stage = 0;
	pop3c_connect_next(c, pop3c_open_step);
}

/* transaction state */

static void
pop3c_stat_done(struct pop3c *c, int result)
{
	if (result == CLIENT_OK) {
		unsigned int n;
		unsigned long long octets;
		if (sscanf(buf_data(&c->parser.reply.text), "%u %llu", &n,
			   &octets) != 2) {
			cconn_set_error(c->cc, "malformed STAT reply");
			result = CLIENT_ERROR;
		} else {
			if (c->count_r != NULL)
				*c->count_r = n;
			if (c->octets_r != NULL)
				*c->octets_r = octets;
		}
	}
	pop3c_done(c, result);
}

void
pop3c_stat(struct pop3c *c, unsigned int *count_r, uint64_t *octets_r,
	pop3c_cb *cb, void *context)
{
	pop3c_start(c, cb, context);
	c->count_r = count_r;
	c->octets_r = octets_r;
	pop3c_cmd(c, "stat", "STAT", false, pop3c_stat_done);
}

static void
pop3c_uidl_done(struct pop3c *c, int result)
{
	if (result != CLIENT_OK) {
		pop3c_done(c, result);
		return;
	}
	c->uidl_count = 0;
	const char *s = buf_data(&c->parser.reply.body);
	while (*s != '\0') {
		const char *end = strstr(s, "\r\n");
		size_t ll = end != NULL ? (size_t)(end - s) : strlen(s);
		unsigned int n;
		int off = 0;
		char uid[71];
		/* RFC 1939 7: unique-id is 1-70 chars in 0x21..0x7E */
		if (ll > 0 && sscanf(s, "%u %70[!-~]%n", &n, uid, &off) == 2) {
			if (c->uidl_count == c->uidl_cap) {
				c->uidl_cap = c->uidl_cap * 2 + 16;
				c->uidl = xrealloc(c->uidl,
					c->uidl_cap * sizeof(*c->uidl));
			}
			c->uidl[c->uidl_count].msgno = n;
			strcpy(c->uidl[c->uidl_count].uid, uid);
			c->uidl_count++;
		}
		if (end == NULL)
			break;
		s = end + 2;
	}
	pop3c_done(c, CLIENT_OK);
}

void
pop3c_uidl(struct pop3c *c, pop3c_cb *cb, void *context)
{
	pop3c_start(c, cb, context);
	pop3c_cmd(c, "uidl", "UIDL", true, pop3c_uidl_done);
}

const struct pop3c_uidl *
pop3c_uidl_list(const struct pop3c *c, size_t *count_r)
{
	*count_r = c->uidl_count;
	return c->uidl;
}

static void
pop3c_simple(struct pop3c *c, pop3c_cb *cb, void *context, const char *step,
	const char *line, bool multiline)
{
	pop3c_start(c, cb, context);
	pop3c_cmd(c, step, line, multiline, NULL);
}

void
pop3c_retr(struct pop3c *c, unsigned int msgno, pop3c_cb *cb, void *context)
{
	char line[32];
	snprintf(line, sizeof(line), "RETR %u", msgno);
	pop3c_simple(c, cb, context, "retr", line, true);
}

void
pop3c_dele(struct pop3c *c, unsigned int msgno, pop3c_cb *cb, void *context)
{
	char line[32];
	snprintf(line, sizeof(line), "DELE %u", msgno);
	pop3c_simple(c, cb, context, "dele", line, false);
}

void
pop3c_noop(struct pop3c *c, pop3c_cb *cb, void *context)
{
	pop3c_simple(c, cb, context, "noop", "NOOP", false);
}

void
pop3c_quit(struct pop3c *c, pop3c_cb *cb, void *context)
{
	pop3c_simple(c, cb, context, "quit", "QUIT", false);
}

void
pop3c_command(struct pop3c *c, const char *line, bool multiline, pop3c_cb *cb,
	void *context)
{
	pop3c_simple(c, cb, context, "command", line, multiline);
}

const struct pop3_reply *
pop3c_reply(const struct pop3c *c)
{
	return &c->parser.reply;
}

const char *
pop3c_step(const struct pop3c *c)
{
	return c->step;
}

const char *
pop3c_error(const struct pop3c *c)
{
	return cconn_error(c->cc);
}

struct client_timing *
pop3c_timing(struct pop3c *c)
{
	return cconn_timing(c->cc);
}

bool
pop3c_is_tls(const struct pop3c *c)
{
	return cconn_is_tls(c->cc);
}

SSL *
pop3c_ssl(const struct pop3c *c)
{
	return cconn_ssl(c->cc);
}

struct cconn *
pop3c_conn(struct pop3c *c)
{
	return c->cc;
}
