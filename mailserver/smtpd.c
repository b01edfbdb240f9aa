/* smtpd.c: the SMTP server session (RFC 5321) for the smtp (25), submission
 * (587, RFC 6409: AUTH required) and submissions (465, RFC 8314: implicit
 * TLS, done by the runtime before we start) roles.
 *
 * A session is a state enum plus a command table of check/do pairs with
 * flags (the shape of OpenSMTPD's smtp_session.c and Postfix's smtpd.c).
 * Every reply goes through smtpd_reply(), every state change through
 * smtpd_set_state(). AUTH lives in smtpd_auth.c, DATA in smtpd_data.c.
 *
 * Left out: outbound relaying (mail for other domains gets 554 5.7.1, even
 * when authenticated), BINARYMIME, DSN, SMTPUTF8, EXPN. */
#include "postier.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/metric.h"
#include "core/xmalloc.h"
#include "conn.h"
#include "directory.h"
#include "guard.h"
#include "loop.h"
#include "protocols.h"
#include "queue.h"
#include "settings.h"
#include "smtpd.h"

/* Command flags (Postfix smtpd.c names in brackets). */
#define CMD_PRE_TLS 0x01       /* allowed before STARTTLS when TLS is
				  required [PRE_TLS] */
#define CMD_NEEDS_HELO 0x02    /* after HELO/EHLO only */
#define CMD_NEEDS_AUTH 0x04    /* after AUTH on submission roles */
#define CMD_LAST_IN_GROUP 0x08 /* RFC 2920 3.1: must end a pipelined
				  group [LAST] */
#define CMD_NO_ARG 0x10        /* takes no argument */

struct smtpd_cmd {
	enum smtp_verb verb;
	/* Refuses (replies, returns false) or accepts. May be NULL. */
	bool (*check)(struct smtpd_session *s, const struct smtp_cmd *cmd);
	/* Acts and replies (now or after an asynchronous step). */
	void (*act)(struct smtpd_session *s, const struct smtp_cmd *cmd);
	unsigned int flags;
};

static const char *const smtpd_state_names[] = {
	[SMTPD_STATE_INIT] = "init",
	[SMTPD_STATE_READY] = "ready",
	[SMTPD_STATE_MAIL] = "mail",
	[SMTPD_STATE_RCPT] = "rcpt",
	[SMTPD_STATE_DATA] = "data",
	[SMTPD_STATE_BDAT] = "bdat",
	[SMTPD_STATE_AUTH] = "auth",
	[SMTPD_STATE_TLS] = "tls",
	[SMTPD_STATE_QUIT] = "quit",
};

const char *
smtpd_state_name(enum smtpd_state state)
{
	return smtpd_state_names[state];
}

double
smtpd_elapsed_s(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) +
		(double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

void
smtpd_set_state(struct smtpd_session *s, enum smtpd_state state)
{
	if (s->state == state)
		return;
	log_debug("smtp.state", "sid=%s old=%s new=%s", s->sid,
		smtpd_state_names[s->state], smtpd_state_names[state]);
	s->state = state;
	/* RFC 5321 4.5.3.2: the server waits at least 5 minutes for a
	 * command; inside DATA the client's block timeout applies */
	if (state == SMTPD_STATE_DATA)
		conn_set_timeout(s->conn, s->set->smtp_timeout_data_block_ms);
	else if (state != SMTPD_STATE_QUIT)
		conn_set_timeout(s->conn, s->set->smtp_timeout_command_ms);
}

static bool
smtpd_is_protocol_error(int code)
{
	/* syntax and sequence errors (RFC 5321 4.2.2: 500-504, RFC 1869 555) */
	return (code >= 500 && code <= 504) || code == 555;
}

void
smtpd_close(struct smtpd_session *s, const char *reason, int code,
	const char *esc, const char *text)
{
	if (s->state == SMTPD_STATE_QUIT)
		return;
	if (code > 0)
		smtpd_reply(s, code, esc, "%s", text);
	if (s->state == SMTPD_STATE_QUIT)
		return; /* the reply itself closed (too many errors) */
	s->close_reason = reason;
	smtpd_set_state(s, SMTPD_STATE_QUIT);
	conn_close(s->conn);
}

static void
smtpd_vreply(struct smtpd_session *s, int code, const char *esc,
	const char *fmt, va_list ap)
{
	if (s->state == SMTPD_STATE_QUIT)
		return;
	struct buf *r = &s->reply;
	buf_reset(r);
	buf_vprintf(r, fmt, ap);
	/* one line per '\n'; continuation lines use "code-" (RFC 5321 4.2.1) */
	struct buf *out = &s->reply_out;
	buf_reset(out);
	const char *p = buf_data(r);
	for (;;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
		buf_printf(out, "%03d%c", code, nl != NULL ? '-' : ' ');
		if (esc != NULL)
			buf_printf(out, "%s ", esc);
		buf_append(out, p, n);
		buf_append(out, "\r\n", 2);
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	conn_write(s->conn, buf_data(out), buf_len(out));

	if (code >= 400) {
		log_info("smtp.reply", "sid=%s cmd=%s code=%d esc=%s text=%s",
			s->sid, s->cur_verb != NULL ? s->cur_verb : "-", code,
			esc != NULL ? esc : "-", log_quote(buf_data(r)));
	}
	if (smtpd_is_protocol_error(code))
		metric_inc(METRIC_SMTP_PROTOCOL_ERRORS);
	if (code >= 500 && code != 421) {
		s->errors++;
		if (s->errors >= (unsigned int)s->set->smtp_max_errors) {
			conn_write_str(s->conn,
				"421 4.7.0 Too many errors, closing\r\n");
			log_info("smtp.reply", "sid=%s cmd=%s code=421 esc=4.7.0 "
				"text=\"Too many errors\"", s->sid,
				s->cur_verb != NULL ? s->cur_verb : "-");
			s->close_reason = "too_many_errors";
			smtpd_set_state(s, SMTPD_STATE_QUIT);
			conn_close(s->conn);
		}
	}
}

void
smtpd_reply(struct smtpd_session *s, int code, const char *esc,
	const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	smtpd_vreply(s, code, esc, fmt, ap);
	va_end(ap);
}

void
smtpd_reply_error(struct smtpd_session *s, const struct smtp_error *err)
{
	smtpd_reply(s, err->code, err->esc, "%s", err->text);
}

unsigned int
smtpd_begin_async(struct smtpd_session *s)
{
	PASSERT(!s->busy);
	s->busy = true;
	conn_pause_input(s->conn, true);
	return ++s->req_id;
}

void
smtpd_end_async(struct smtpd_session *s)
{
	s->busy = false;
	if (s->state != SMTPD_STATE_QUIT)
		conn_pause_input(s->conn, false);
}

void
smtpd_txn_reset(struct smtpd_session *s)
{
	struct smtpd_txn *t = &s->txn;
	if (t->qtxn != NULL)
		queue_txn_abort(&t->qtxn);
	for (unsigned int i = 0; i < t->n_rcpts; i++) {
		free(t->rcpts[i].address);
		free(t->rcpts[i].maildir);
	}
	free(t->rcpts);
	memset(t, 0, sizeof(*t));
	buf_clear(&s->data);
	if (s->state == SMTPD_STATE_MAIL || s->state == SMTPD_STATE_RCPT ||
	    s->state == SMTPD_STATE_DATA || s->state == SMTPD_STATE_BDAT)
		smtpd_set_state(s, SMTPD_STATE_READY);
}

static bool
smtpd_requires_auth(const struct smtpd_session *s)
{
	return s->role == CONN_ROLE_SUBMISSION || s->role == CONN_ROLE_SUBMISSIONS;
}

/* TLS is required before anything but CMD_PRE_TLS commands when the role
 * requires AUTH and AUTH is only allowed over TLS. */
static bool
smtpd_tls_required(const struct smtpd_session *s)
{
	return smtpd_requires_auth(s) && !s->set->smtp_plaintext_auth &&
		!conn_is_tls(s->conn);
}

/* --- HELO / EHLO --- */

static bool
smtpd_check_helo(struct smtpd_session *s, const struct smtp_cmd *cmd)
{
	const struct smtp_error *err;
	if (smtp_helo_parse(cmd->arg, cmd->arg_len, &err) < 0) {
		smtpd_reply_error(s, err);
		return false;
	}
	return true;
}

static void
smtpd_do_helo(struct smtpd_session *s, const struct smtp_cmd *cmd)
{
	/* RFC 5321 4.1.4: HELO/EHLO in a transaction resets it */
	smtpd_txn_reset(s);
	memcpy(s->helo, cmd->arg, cmd->arg_len);
	s->helo[cmd->arg_len] = '\0';
	s->esmtp = cmd->verb == SMTP_VERB_EHLO;
	smtpd_set_state(s, SMTPD_STATE_READY);
	log_info("smtp.helo", "sid=%s helo=%s esmtp=%s", s->sid,
		log_quote(s->helo), s->esmtp ? "yes" : "no");
	if (!s->esmtp) {
		smtpd_reply(s, 250, NULL, "%s", s->set->hostname);
		return;
	}
	struct buf b;
	buf_init(&b);
	buf_printf(&b, "%s\nPIPELINING\nSIZE %llu\n8BITMIME\n"
		"ENHANCEDSTATUSCODES\nCHUNKING", s->set->hostname,
		(unsigned long long)s->set->smtp_max_message_size);
	if (conn_tls_available(s->conn) && !conn_is_tls(s->conn))
		buf_append_str(&b, "\nSTARTTLS");
	if (smtpd_auth_offered(s))
		buf_append_str(&b, "\nAUTH PLAIN LOGIN");
	smtpd_reply(s, 250, NULL, "%s", buf_data(&b));
	buf_clear(&b);
}

/* --- MAIL --- */

static bool
smtpd_check_mail(struct smtpd_session *s, const struct smtp_cmd *cmd)
{
	if (s->state != SMTPD_STATE_READY) {
		smtpd_reply(s, 503, "5.5.1", "Error: nested MAIL command");
		return false;
	}
	struct smtp_mail_args args;
	const struct smtp_error *err;
	if (smtp_mail_parse(cmd->arg, cmd->arg_len, &args, &err) < 0) {
		smtpd_reply_error(s, err);
		return false;
	}
	/* RFC 1870 6.1: a declared size over the limit is refused at once */
	if (args.has_size && args.size > s->set->smtp_max_message_size) {
		smtpd_reply(s, 552, "5.3.4",
			"Message size exceeds fixed maximum message size");
		return false;
	}
	s->txn.from = args.path;
	/* the struct was copied: re-point domain into our copy */
	s->txn.from.domain = s->txn.from.addr + (args.path.domain -
		args.path.addr);
	s->txn.declared_size = args.has_size ? args.size : 0;
	return true;
}

static void
smtpd_do_mail(struct smtpd_session *s, const struct smtp_cmd *cmd ATTR_UNUSED)
{
	clock_gettime(CLOCK_MONOTONIC, &s->txn.started);
	smtpd_set_state(s, SMTPD_STATE_MAIL);
	log_info("smtp.mail", "sid=%s from=%s size=%llu", s->sid,
		log_quote(s->txn.from.addr),
		(unsigned long long)s->txn.declared_size);
	smtpd_reply(s, 250, "2.1.0", "Ok");
}

/* --- RCPT --- */

struct smtpd_rcpt_req {
	struct smtpd_session *s; /* valid only when the callback's conn is */
	unsigned int req_id;
	char address[SMTP_PATH_MAX_BYTES + 1];
	char domain[SMTP_DOMAIN_MAX_BYTES + 1];
	enum directory_result domain_result;
	enum directory_result user_result;
	struct directory_user *user;
};

static void
smtpd_rcpt_reply(struct smtpd_session *s, const char *address, int code,
	const char *esc, const char *text)
{
	if (code < 300)
		metric_inc(METRIC_SMTP_RCPT_OK);
	else if (code < 500)
		metric_inc(METRIC_SMTP_RCPT_TEMPFAIL);
	else
		metric_inc(METRIC_SMTP_RCPT_REJECTED);
	log_info("smtp.rcpt", "sid=%s to=%s code=%d", s->sid,
		log_quote(address), code);
	if (code < 300)
		smtpd_reply(s, code, esc, "%s", text);
	else
		smtpd_reply(s, code, esc, "<%s>: %s", address, text);
}

static bool
smtpd_check_rcpt(struct smtpd_session *s, const struct smtp_cmd *cmd)
{
	if (s->state != SMTPD_STATE_MAIL && s->state != SMTPD_STATE_RCPT) {
		smtpd_reply(s, 503, "5.5.1", "Error: need MAIL command");
		return false;
	}
	struct smtp_path path;
	const struct smtp_error *err;
	if (smtp_rcpt_parse(cmd->arg, cmd->arg_len, &path, &err) < 0) {
		metric_inc(METRIC_SMTP_RCPT_REJECTED);
		smtpd_reply_error(s, err);
		return false;
	}
	s->txn.n_rcpt_cmds++;
	/* RFC 5321 4.5.3.1.10: at least 100 recipients must be accepted;
	 * beyond the configured limit: 452 so the client retries later */
	if (s->txn.n_rcpts >= (unsigned int)s->set->smtp_max_recipients) {
		smtpd_rcpt_reply(s, path.addr, 452, "4.5.3",
			"Too many recipients");
		return false;
	}
	return true;
}

static void
smtpd_rcpt_work(void *arg)
{
	struct smtpd_rcpt_req *req = arg;
	req->domain_result = directory_is_local_domain(req->domain);
	if (req->domain_result == DIRECTORY_FOUND) {
		req->user_result = directory_lookup(req->address, &req->user);
	}
}

static void
smtpd_rcpt_add(struct smtpd_session *s, struct directory_user *user)
{
	struct smtpd_txn *t = &s->txn;
	for (unsigned int i = 0; i < t->n_rcpts; i++) {
		/* the same mailbox twice: one delivery */
		if (strcmp(t->rcpts[i].address, user->address) == 0)
			return;
	}
	t->rcpts = xrealloc(t->rcpts, (t->n_rcpts + 1) * sizeof(*t->rcpts));
	t->rcpts[t->n_rcpts].address = xstrdup(user->address);
	t->rcpts[t->n_rcpts].maildir = xstrdup(user->maildir);
	t->n_rcpts++;
}

static void
smtpd_rcpt_done(struct conn *c, void *arg)
{
	struct smtpd_rcpt_req *req = arg;
	if (c == NULL || req->s->req_id != req->req_id) {
		/* the session is gone: only free */
		directory_user_free(&req->user);
		free(req);
		return;
	}
	struct smtpd_session *s = req->s;
	smtpd_end_async(s);
	if (req->domain_result == DIRECTORY_ERROR ||
	    (req->domain_result == DIRECTORY_FOUND &&
	    req->user_result == DIRECTORY_ERROR)) {
		/* never a permanent error for a temporary failure */
		smtpd_rcpt_reply(s, req->address, 451, "4.3.0",
			"Temporary directory failure, try again later");
	} else if (req->domain_result == DIRECTORY_NOT_FOUND) {
		/* XXX: no outbound delivery yet, so authenticated submission to
		 * another domain is refused too (docs/smtp.md) */
		smtpd_rcpt_reply(s, req->address, 554, "5.7.1",
			s->auth_user != NULL ?
			"Relay access denied: outbound delivery is not available" :
			"Relay access denied");
	} else if (req->user_result == DIRECTORY_NOT_FOUND ||
	    req->user == NULL || req->user->maildir == NULL) {
		smtpd_rcpt_reply(s, req->address, 550, "5.1.1",
			"Recipient address rejected: User unknown");
	} else {
		smtpd_rcpt_add(s, req->user);
		smtpd_set_state(s, SMTPD_STATE_RCPT);
		smtpd_rcpt_reply(s, req->address, 250, "2.1.5", "Ok");
	}
	directory_user_free(&req->user);
	free(req);
}

static void
smtpd_do_rcpt(struct smtpd_session *s, const struct smtp_cmd *cmd)
{
	struct smtp_path path;
	const struct smtp_error *err;
	/* parsed by the check already: cannot fail */
	if (smtp_rcpt_parse(cmd->arg, cmd->arg_len, &path, &err) < 0)
		log_panic("smtpd: RCPT parsed twice differently");
	struct smtpd_rcpt_req *req = xcalloc(1, sizeof(*req));
	req->s = s;
	if (path.postmaster) {
		/* RFC 5321 4.5.1: <Postmaster> is the postmaster of this
		 * host; XXX: it must exist in the directory as
		 * postmaster@<server.hostname> */
		snprintf(req->address, sizeof(req->address), "postmaster@%s",
			s->set->hostname);
		snprintf(req->domain, sizeof(req->domain), "%s",
			s->set->hostname);
	} else {
		memcpy(req->address, path.addr, sizeof(req->address));
		snprintf(req->domain, sizeof(req->domain), "%s", path.domain);
	}
	req->req_id = smtpd_begin_async(s);
	worker_submit(s->conn, smtpd_rcpt_work, smtpd_rcpt_done, req);
}

/* --- small commands --- */

static void
smtpd_do_rset(struct smtpd_session *s, const struct smtp_cmd *cmd ATTR_UNUSED)
{
	smtpd_txn_reset(s);
	smtpd_reply(s, 250, "2.0.0", "Ok");
}

static void
smtpd_do_noop(struct smtpd_session *s, const struct smtp_cmd *cmd ATTR_UNUSED)
{
	smtpd_reply(s, 250, "2.0.0", "Ok");
}

static void
smtpd_do_quit(struct smtpd_session *s, const struct smtp_cmd *cmd ATTR_UNUSED)
{
	smtpd_close(s, "quit", 221, "2.0.0", "Bye");
}

static bool
smtpd_check_vrfy(struct smtpd_session *s, const struct smtp_cmd *cmd)
{
	if (cmd->arg_len == 0) {
		smtpd_reply(s, 501, "5.5.4", "Syntax: VRFY address");
		return false;
	}
	return true;
}

static void
smtpd_do_vrfy(struct smtpd_session *s, const struct smtp_cmd *cmd ATTR_UNUSED)
{
	/* RFC 5321 3.5.3: no address harvesting, but do not refuse either */
	smtpd_reply(s, 252, "2.5.2",
		"Cannot VRFY user, but will accept message and attempt delivery");
}

static void
smtpd_do_help(struct smtpd_session *s, const struct smtp_cmd *cmd ATTR_UNUSED)
{
	smtpd_reply(s, 214, "2.0.0", "Commands: HELO EHLO MAIL RCPT DATA BDAT "
		"RSET NOOP QUIT VRFY HELP STARTTLS AUTH");
}

static void
smtpd_do_not_implemented(struct smtpd_session *s,
	const struct smtp_cmd *cmd ATTR_UNUSED)
{
	smtpd_reply(s, 502, "5.5.1", "Error: command not implemented");
}

/* --- STARTTLS (RFC 3207) --- */

static bool
smtpd_check_starttls(struct smtpd_session *s,
	const struct smtp_cmd *cmd ATTR_UNUSED)
{
	if (conn_is_tls(s->conn)) {
		smtpd_reply(s, 503, "5.5.1", "Error: TLS already active");
		return false;
	}
	if (!conn_tls_available(s->conn)) {
		smtpd_reply(s, 454, "4.7.0", "TLS not available");
		return false;
	}
	if (s->state != SMTPD_STATE_INIT && s->state != SMTPD_STATE_READY) {
		smtpd_reply(s, 503, "5.5.1", "Error: MAIL transaction in progress");
		return false;
	}
	return true;
}

static void
smtpd_do_starttls(struct smtpd_session *s,
	const struct smtp_cmd *cmd ATTR_UNUSED)
{
	smtpd_reply(s, 220, "2.0.0", "Ready to start TLS");
	/* conn flushes the 220, drops what the client pipelined after
	 * STARTTLS (RFC 3207 4) and calls on_tls_ready() or on_closed() */
	if (conn_starttls(s->conn) < 0) {
		smtpd_close(s, "tls_error", 0, NULL, NULL);
		return;
	}
	smtpd_set_state(s, SMTPD_STATE_TLS);
}

static void
smtpd_do_auth(struct smtpd_session *s, const struct smtp_cmd *cmd)
{
	smtpd_cmd_auth(s, cmd->arg, cmd->arg_len);
}

static void
smtpd_do_data(struct smtpd_session *s, const struct smtp_cmd *cmd ATTR_UNUSED)
{
	smtpd_cmd_data(s);
}

static void
smtpd_do_bdat(struct smtpd_session *s, const struct smtp_cmd *cmd)
{
	smtpd_cmd_bdat(s, cmd->arg, cmd->arg_len);
}

static const struct smtpd_cmd smtpd_cmds[] = {
	{ SMTP_VERB_EHLO, smtpd_check_helo, smtpd_do_helo,
		CMD_PRE_TLS | CMD_LAST_IN_GROUP },
	{ SMTP_VERB_HELO, smtpd_check_helo, smtpd_do_helo,
		CMD_PRE_TLS | CMD_LAST_IN_GROUP },
	{ SMTP_VERB_STARTTLS, smtpd_check_starttls, smtpd_do_starttls,
		CMD_PRE_TLS | CMD_NO_ARG | CMD_LAST_IN_GROUP },
	{ SMTP_VERB_AUTH, NULL, smtpd_do_auth, CMD_NEEDS_HELO },
	{ SMTP_VERB_MAIL, smtpd_check_mail, smtpd_do_mail,
		CMD_NEEDS_HELO | CMD_NEEDS_AUTH },
	{ SMTP_VERB_RCPT, smtpd_check_rcpt, smtpd_do_rcpt, CMD_NEEDS_AUTH },
	{ SMTP_VERB_DATA, NULL, smtpd_do_data,
		CMD_NEEDS_AUTH | CMD_NO_ARG | CMD_LAST_IN_GROUP },
	{ SMTP_VERB_RSET, NULL, smtpd_do_rset, CMD_PRE_TLS | CMD_NO_ARG },
	{ SMTP_VERB_NOOP, NULL, smtpd_do_noop, CMD_PRE_TLS | CMD_LAST_IN_GROUP },
	{ SMTP_VERB_QUIT, NULL, smtpd_do_quit, CMD_PRE_TLS | CMD_NO_ARG },
	{ SMTP_VERB_VRFY, smtpd_check_vrfy, smtpd_do_vrfy, CMD_LAST_IN_GROUP },
	{ SMTP_VERB_HELP, NULL, smtpd_do_help, CMD_PRE_TLS },
	{ SMTP_VERB_EXPN, NULL, smtpd_do_not_implemented, CMD_LAST_IN_GROUP },
	/* BDAT checks inside: its chunk must be read even when refused, so
	 * no flag may refuse it before the size is known */
	{ SMTP_VERB_BDAT, NULL, smtpd_do_bdat, CMD_PRE_TLS },
};

/* --- dispatch --- */

static void
smtpd_command(struct smtpd_session *s, const char *line, size_t len,
	bool too_long)
{
	s->cur_verb = NULL;
	/* RFC 5321 4.5.3.1.4: a command line is at most 512 octets; we allow
	 * smtp.max_line_bytes (1000 by default), CRLF included */
	if (too_long || len + 2 > (size_t)s->set->smtp_max_line_bytes) {
		struct smtp_cmd cmd;
		const struct smtp_error *err;
		/* AUTH with a long initial response is allowed up to the
		 * RFC 4954 4 limit, which the conn enforces */
		if (too_long || smtp_cmd_parse(line, len, &cmd, &err) < 0 ||
		    cmd.verb != SMTP_VERB_AUTH) {
			smtpd_reply(s, 500, "5.5.6", "Error: line too long");
			return;
		}
	}
	struct smtp_cmd cmd;
	const struct smtp_error *err;
	if (smtp_cmd_parse(line, len, &cmd, &err) < 0) {
		smtpd_reply_error(s, err);
		return;
	}
	s->cur_verb = smtp_verb_name(cmd.verb);
	log_debug("smtp.cmd", "sid=%s verb=%s", s->sid, s->cur_verb);

	if (conn_server_draining(s->conn) && (s->state == SMTPD_STATE_INIT ||
	    s->state == SMTPD_STATE_READY) && cmd.verb != SMTP_VERB_QUIT) {
		smtpd_close(s, "shutdown", 421, "4.3.2",
			"Service shutting down, try again later");
		return;
	}
	const struct smtpd_cmd *def = NULL;
	for (size_t i = 0; i < N_ELEMENTS(smtpd_cmds); i++) {
		if (smtpd_cmds[i].verb == cmd.verb) {
			def = &smtpd_cmds[i];
			break;
		}
	}
	if (def == NULL) {
		smtpd_reply(s, 500, "5.5.2", "Error: command not recognized");
		return;
	}
	if ((def->flags & CMD_PRE_TLS) == 0 && smtpd_tls_required(s)) {
		smtpd_reply(s, 530, "5.7.0", "Must issue a STARTTLS command first");
		return;
	}
	if ((def->flags & CMD_NO_ARG) != 0 && cmd.arg_len > 0) {
		smtpd_reply(s, 501, "5.5.4", "Syntax: %s", s->cur_verb);
		return;
	}
	if ((def->flags & CMD_NEEDS_HELO) != 0 && s->state == SMTPD_STATE_INIT) {
		smtpd_reply(s, 503, "5.5.1", "Error: send HELO/EHLO first");
		return;
	}
	if ((def->flags & CMD_NEEDS_AUTH) != 0 && smtpd_requires_auth(s) &&
	    s->auth_user == NULL) {
		/* RFC 4954 6 */
		smtpd_reply(s, 530, "5.7.0", "Authentication required");
		return;
	}
	if (def->check != NULL && !def->check(s, &cmd))
		return;
	def->act(s, &cmd);
	s->last_in_group = (def->flags & CMD_LAST_IN_GROUP) != 0;
}

/* --- conn events --- */

static void
smtpd_on_line(void *context, const char *line, size_t len, bool too_long)
{
	struct smtpd_session *s = context;

	if (s->state == SMTPD_STATE_QUIT || s->state == SMTPD_STATE_TLS)
		return;
	/* RFC 2920 3.1: a command that must end a group (EHLO, DATA, NOOP...)
	 * was followed by more input before its reply left: the client did
	 * not wait (for DATA: it sent the message before the 354). Logged
	 * once, like Postfix without reject_unauth_pipelining. */
	if (s->last_in_group && conn_output_pending(s->conn) > 0 &&
	    !s->pipelining_logged) {
		s->pipelining_logged = true;
		log_info("smtp.improper_pipelining", "sid=%s after=%s", s->sid,
			s->cur_verb != NULL ? s->cur_verb : "-");
	}
	s->last_in_group = false;
	if (s->state == SMTPD_STATE_DATA) {
		smtpd_data_line(s, line, len, too_long);
		return;
	}
	if (s->state == SMTPD_STATE_AUTH) {
		smtpd_auth_line(s, line, len, too_long);
		return;
	}
	smtpd_command(s, line, len, too_long);
}

static void
smtpd_on_timeout(void *context)
{
	struct smtpd_session *s = context;
	/* While draining, the runtime shortens idle timeouts to close idle
	 * sessions: between transactions that is a shutdown, not a timeout. */
	if (conn_server_draining(s->conn) && (s->state == SMTPD_STATE_INIT ||
	    s->state == SMTPD_STATE_READY)) {
		smtpd_close(s, "shutdown", 421, "4.3.2",
			"Service shutting down, try again later");
		return;
	}
	/* RFC 5321 4.5.3.2.7 / 4.5.3.2.5 */
	smtpd_close(s, s->state == SMTPD_STATE_DATA ? "timeout_data" : "timeout",
		421, "4.4.2", "Error: timeout exceeded");
}

static void
smtpd_on_tls_ready(void *context)
{
	struct smtpd_session *s = context;
	/* RFC 3207 4.2: forget everything learnt before TLS */
	smtpd_txn_reset(s);
	s->helo[0] = '\0';
	s->esmtp = false;
	free(s->auth_user);
	s->auth_user = NULL;
	s->last_in_group = false;
	smtpd_set_state(s, SMTPD_STATE_INIT);
	log_info("smtp.tls", "sid=%s tls=%s", s->sid,
		log_quote(conn_tls_description(s->conn)));
}

static void
smtpd_session_free(struct smtpd_session **sp)
{
	struct smtpd_session *s = *sp;
	*sp = NULL;
	smtpd_txn_reset(s);
	smtpd_auth_clear(s);
	smtp_data_reader_clear(&s->reader);
	buf_clear(&s->data);
	buf_clear(&s->reply);
	buf_clear(&s->reply_out);
	free(s->auth_user);
	free(s);
}

static void
smtpd_on_closed(void *context, const char *reason)
{
	struct smtpd_session *s = context;
	/* in DATA and not committing: the message is unfinished */
	bool in_data = (s->state == SMTPD_STATE_DATA ||
		s->state == SMTPD_STATE_BDAT) && !s->busy;
	if (in_data) {
		/* nothing of an unfinished message is delivered */
		log_info("smtp.abort", "sid=%s from=%s size=%llu", s->sid,
			log_quote(s->txn.from.addr),
			(unsigned long long)s->reader.size);
	}
	log_info("smtp.disconnect", "sid=%s reason=%s messages=%u errors=%u%s",
		s->sid, s->close_reason != NULL ? s->close_reason : reason,
		s->messages, s->errors, in_data ? " in_data=yes" : "");
	smtpd_session_free(&s);
}

static const struct conn_handler smtpd_handler = {
	.on_line = smtpd_on_line,
	.on_data = smtpd_on_data,
	.on_timeout = smtpd_on_timeout,
	.on_tls_ready = smtpd_on_tls_ready,
	.on_closed = smtpd_on_closed,
};

void
smtpd_session_start(struct conn *c)
{
	struct smtpd_session *s = xcalloc(1, sizeof(*s));
	s->conn = c;
	s->set = conn_settings(c);
	s->role = conn_role(c);
	s->sid = conn_sid(c);
	s->state = SMTPD_STATE_INIT;
	buf_init(&s->data);
	buf_init(&s->reply);
	buf_init(&s->reply_out);
	buf_init(&s->auth_buf);
	smtp_data_reader_init(&s->reader, (size_t)s->set->smtp_max_line_bytes,
		s->set->smtp_max_message_size);
	conn_set_handler(c, &smtpd_handler, s);
	/* The conn keeps lines up to the AUTH limit (RFC 4954 4: 12288);
	 * the SMTP line limits are checked here and in the DATA reader, so a
	 * line that is too long is a reply, and memory stays bounded. */
	conn_set_line_limit(c, SMTP_AUTH_MAX_RESPONSE_BYTES);
	conn_set_timeout(c, s->set->smtp_timeout_command_ms);
	log_info("smtp.connect", "sid=%s role=%s rip=%s rport=%d lport=%d tls=%s",
		s->sid, conn_role_name(s->role), conn_remote_ip(c),
		conn_remote_port(c), conn_local_port(c),
		conn_is_tls(c) ? "yes" : "no");
	if (conn_server_draining(c)) {
		smtpd_close(s, "shutdown", 421, "4.3.2",
			"Service shutting down, try again later");
		return;
	}
	/* RFC 2034 3: no enhanced status code in the greeting */
	smtpd_reply(s, 220, NULL, "%s ESMTP Postier", s->set->hostname);
}
