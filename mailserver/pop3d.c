/* pop3d.c: the POP3 session (RFC 1939) with CAPA (RFC 2449), AUTH PLAIN
 * (RFC 5034), STLS (RFC 2595) and UIDL values identical to Dovecot's with
 * pop3_uidl_format = %08Xu%08Xv (the IMAP UID and the folder's UIDVALIDITY in
 * upper-case hex), so a migrated client never downloads its mail again.
 *
 * The maildrop is a snapshot of INBOX taken at login (RFC 1939 5: message
 * numbers do not change during a session). DELE and the \Seen set by
 * RETR/TOP are applied only at QUIT (the UPDATE state); a dropped connection
 * changes nothing. RETR output is produced in pieces as the socket drains, so
 * a large message never sits in the output buffer whole.
 * Left out: APOP (needs plaintext passwords), LAST, RESP-CODES beyond
 * [AUTH], [SYS/TEMP], [IN-USE] is not needed (no exclusive lock). */
#include "postier.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/metric.h"
#include "core/xmalloc.h"
#include "proto/mime_part.h"
#include "proto/pop3_command.h"
#include "proto/smtp_auth.h"
#include "conn.h"
#include "directory.h"
#include "guard.h"
#include "loop.h"
#include "mailbox.h"
#include "mailbox_aside.h"
#include "maildir_write.h"
#include "protocols.h"
#include "settings.h"

/* Stop producing RETR output above this many queued bytes. */
#define POP3D_OUTPUT_HIGH 262144
#define POP3D_CHUNK 65536
#define POP3D_MAX_BAD_COMMANDS 10

enum pop3d_state {
	POP3D_STATE_AUTH,        /* RFC 1939 4: AUTHORIZATION */
	POP3D_STATE_AUTH_WAIT,   /* a password check is in flight */
	POP3D_STATE_SASL,        /* waiting for the AUTH PLAIN response */
	POP3D_STATE_TLS,         /* STLS handshake */
	POP3D_STATE_TRANSACTION,
	POP3D_STATE_SENDING,     /* RETR/TOP output in progress */
	POP3D_STATE_CLOSING,
};

static const char *const pop3d_state_names[] = {
	"auth", "auth_wait", "sasl", "tls", "transaction", "sending", "closing",
};

struct pop3d_session {
	struct conn *c;
	enum pop3d_state state;
	struct pop3_command cmd;
	char *user;              /* USER argument */
	char *address;           /* authenticated */
	struct mailbox *box;
	bool *deleted, *seen;    /* per message, applied at QUIT */
	uint64_t *vsizes;
	unsigned int n_deleted;
	unsigned int bad_commands;
	bool box_lent;           /* the worker pool reads from box */
	unsigned int aside_i;    /* ... for this RETR or TOP */
	bool aside_top;
	uint32_t aside_lines;
	/* message being sent (CRLF line ends), shared with the output queue */
	struct conn_blob *msg;
	size_t msg_off;
	bool line_start;
	bool in_body;            /* past the header/body separator */
	long long top_lines;     /* body lines still wanted; -1 = all */
};

static void pop3d_on_line(void *ctx, const char *line, size_t len,
	bool too_long);
static void pop3d_on_drained(void *ctx);
static void pop3d_on_timeout(void *ctx);
static void pop3d_on_tls_ready(void *ctx);
static void pop3d_on_closed(void *ctx, const char *reason);

static const struct conn_handler pop3d_handler = {
	.on_line = pop3d_on_line,
	.on_data = NULL,
	.on_drained = pop3d_on_drained,
	.on_timeout = pop3d_on_timeout,
	.on_tls_ready = pop3d_on_tls_ready,
	.on_closed = pop3d_on_closed,
};

static void
pop3d_set_state(struct pop3d_session *s, enum pop3d_state state)
{
	if (s->state == state)
		return;
	log_debug("pop3.state", "sid=%s from=%s to=%s", conn_sid(s->c),
		pop3d_state_names[s->state], pop3d_state_names[state]);
	s->state = state;
}

/* The one reply function: "+OK text" or "-ERR text". */
static void
pop3d_reply(struct pop3d_session *s, bool ok, const char *fmt, ...)
	ATTR_PRINTF(3, 4);

static void
pop3d_reply(struct pop3d_session *s, bool ok, const char *fmt, ...)
{
	struct buf b;
	buf_init(&b);
	buf_append_str(&b, ok ? "+OK" : "-ERR");
	if (fmt != NULL && *fmt != '\0') {
		va_list ap;
		buf_append_char(&b, ' ');
		va_start(ap, fmt);
		buf_vprintf(&b, fmt, ap);
		va_end(ap);
	}
	buf_append_str(&b, "\r\n");
	conn_write(s->c, buf_data(&b), buf_len(&b));
	buf_clear(&b);
}

static const struct postierd_settings *
pop3d_set(const struct pop3d_session *s)
{
	return conn_settings(s->c);
}

static bool
pop3d_plaintext_ok(const struct pop3d_session *s)
{
	return conn_is_tls(s->c) || pop3d_set(s)->pop3_plaintext_auth;
}

void
pop3d_session_start(struct conn *c)
{
	struct pop3d_session *s = xcalloc(1, sizeof(*s));
	s->c = c;
	s->state = POP3D_STATE_AUTH;
	pop3_command_init(&s->cmd);
	conn_set_handler(c, &pop3d_handler, s);
	conn_set_line_limit(c, POP3_DEFAULT_MAX_LINE_BYTES +
		SMTP_AUTH_MAX_RESPONSE_BYTES);
	conn_set_timeout(c, pop3d_set(s)->pop3_timeout_ms);
	log_info("pop3.connect", "sid=%s rip=%s tls=%s", conn_sid(c),
		conn_remote_ip(c), conn_is_tls(c) ? "yes" : "no");
	pop3d_reply(s, true, "Postier ready.");
}

static void
pop3d_free(struct pop3d_session *s)
{
	pop3_command_clear(&s->cmd);
	if (s->user != NULL) {
		free(s->user);
	}
	free(s->address);
	if (s->box_lent)
		s->box = NULL; /* a read request frees it */
	mailbox_free(&s->box);
	free(s->deleted);
	free(s->seen);
	free(s->vsizes);
	conn_blob_unref(&s->msg);
	free(s);
}

static void
pop3d_capa(struct pop3d_session *s)
{
	/* RFC 2449 5 */
	struct buf b;
	buf_init(&b);
	buf_append_str(&b, "+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\n"
		"PIPELINING\r\nAUTH-RESP-CODE\r\n");
	if (s->state == POP3D_STATE_AUTH) {
		if (pop3d_plaintext_ok(s))
			buf_append_str(&b, "USER\r\nSASL PLAIN\r\n");
		if (!conn_is_tls(s->c) && conn_tls_available(s->c))
			buf_append_str(&b, "STLS\r\n");
	}
	buf_append_str(&b, ".\r\n");
	conn_write(s->c, buf_data(&b), buf_len(&b));
	buf_clear(&b);
}

/* --- authentication --- */

static void
pop3d_login_failed(struct pop3d_session *s, const char *user,
	const char *reason)
{
	if (guard_auth_failed(s->c, user, reason)) {
		pop3d_reply(s, false, "[AUTH] Authentication failed.");
		pop3d_set_state(s, POP3D_STATE_CLOSING);
		conn_close(s->c);
		return;
	}
	pop3d_reply(s, false, "[AUTH] Authentication failed.");
}

/* The maildrop is opened in the worker pool: the first scan after new
 * mail writes dovecot-uidlist with an fsync, and sizes unknown from the
 * file names mean reading the files. */
struct pop3d_open_req {
	struct pop3d_session *s; /* valid while the conn lives */
	char *address, *maildir;
	int ret;                 /* 1 open, 0 no INBOX, -1 error */
	char *error;
	struct mailbox *box;
	uint64_t *vsizes;
	bool *deleted;
};

static void
pop3d_open_work(void *arg)
{
	struct pop3d_open_req *r = arg;
	if (r->maildir == NULL) {
		r->ret = -1;
		r->error = xstrdup("no mail location");
		return;
	}
	if (maildir_ensure(r->maildir, &r->error) < 0) {
		r->ret = -1;
		return;
	}
	r->ret = mailbox_open(r->maildir, "INBOX", false, &r->box, &r->error);
	if (r->ret <= 0)
		return;
	unsigned int n = r->box->count;
	r->deleted = xcalloc(n + 1, sizeof(bool));
	r->vsizes = xcalloc(n + 1, sizeof(uint64_t));
	for (unsigned int i = 0; i < n; i++) {
		if (mailbox_msg_vsize(r->box, i, &r->vsizes[i]) < 0)
			r->deleted[i] = true; /* vanished meanwhile */
	}
}

static void
pop3d_open_done(struct conn *c, void *arg)
{
	struct pop3d_open_req *r = arg;
	if (c != NULL) {
		struct pop3d_session *s = r->s;
		conn_pause_input(c, false);
		if (r->ret <= 0) {
			log_error("pop3.mailbox_error", "sid=%s user=%s "
				"error=%s", conn_sid(c), log_quote(r->address),
				log_quote(r->error != NULL ? r->error :
				"INBOX missing"));
			pop3d_set_state(s, POP3D_STATE_AUTH);
			pop3d_reply(s, false, "[SYS/TEMP] Mailbox unavailable.");
		} else {
			s->box = r->box;
			s->vsizes = r->vsizes;
			s->deleted = r->deleted;
			s->seen = xcalloc(s->box->count + 1, sizeof(bool));
			r->box = NULL;
			r->vsizes = NULL;
			r->deleted = NULL;
			s->address = xstrdup(r->address);
			guard_auth_succeeded(c, r->address);
			log_info("pop3.login", "sid=%s user=%s messages=%u",
				conn_sid(c), log_quote(r->address),
				s->box->count);
			pop3d_set_state(s, POP3D_STATE_TRANSACTION);
			pop3d_reply(s, true, "Logged in.");
		}
	}
	mailbox_free(&r->box);
	free(r->vsizes);
	free(r->deleted);
	free(r->error);
	free(r->address);
	free(r->maildir);
	free(r);
}

static void
pop3d_auth_done(struct conn *c, enum directory_result result,
	struct directory_user *user, void *context)
{
	if (c == NULL) {
		/* the session is gone with its connection */
		directory_user_free(&user);
		return;
	}
	struct pop3d_session *s = context;
	if (result == DIRECTORY_FOUND) {
		/* input stays paused until the maildrop is open */
		struct pop3d_open_req *r = xcalloc(1, sizeof(*r));
		r->s = s;
		r->address = xstrdup(user->address);
		r->maildir = user->maildir != NULL ?
			xstrdup(user->maildir) : NULL;
		worker_submit(c, pop3d_open_work, pop3d_open_done, r);
		directory_user_free(&user);
		return;
	}
	conn_pause_input(c, false);
	pop3d_set_state(s, POP3D_STATE_AUTH);
	switch (result) {
	case DIRECTORY_FOUND:
		break;
	case DIRECTORY_NOT_FOUND:
		pop3d_login_failed(s, s->user, "bad_password");
		break;
	case DIRECTORY_ERROR:
		pop3d_reply(s, false,
			"[SYS/TEMP] Temporary authentication failure.");
		break;
	}
	directory_user_free(&user);
}

static void
pop3d_authenticate(struct pop3d_session *s, const char *user,
	const char *password)
{
	free(s->user);
	s->user = xstrdup(user);
	pop3d_set_state(s, POP3D_STATE_AUTH_WAIT);
	conn_pause_input(s->c, true);
	directory_authenticate_async(s->c, user, password, pop3d_auth_done, s);
}

/* RFC 5034 4 / RFC 4616: the decoded PLAIN message. */
static void
pop3d_sasl_plain(struct pop3d_session *s, const char *b64, size_t len)
{
	struct buf msg;
	buf_init(&msg);
	const char *authz, *authc, *pass;
	if (len == 1 && b64[0] == '*') {
		pop3d_reply(s, false, "Authentication aborted.");
		buf_clear(&msg);
		return;
	}
	if (smtp_base64_decode(b64, len, &msg) < 0 ||
	    smtp_auth_plain_split(msg.data, buf_len(&msg), &authz, &authc,
		    &pass) < 0) {
		smtp_auth_wipe(&msg);
		buf_clear(&msg);
		pop3d_login_failed(s, NULL, "bad_encoding");
		return;
	}
	if (*authz != '\0' && strcmp(authz, authc) != 0) {
		/* no master users: authorizing as someone else fails */
		char *user = xstrdup(authc);
		smtp_auth_wipe(&msg);
		buf_clear(&msg);
		pop3d_login_failed(s, user, "bad_authzid");
		free(user);
		return;
	}
	pop3d_authenticate(s, authc, pass);
	smtp_auth_wipe(&msg);
	buf_clear(&msg);
}

/* --- transaction --- */

/* Message argument: 1-based, not deleted. Returns the index or -1 (the
 * error was sent). */
static int
pop3d_msg_arg(struct pop3d_session *s, const char *arg)
{
	uint32_t n;
	if (pop3_parse_number(arg, &n) < 0) {
		pop3d_reply(s, false, "Invalid message number: %s",
			log_quote(arg));
		return -1;
	}
	if (n == 0 || n > s->box->count) {
		pop3d_reply(s, false, "There's no message %u.", n);
		return -1;
	}
	if (s->deleted[n - 1]) {
		pop3d_reply(s, false, "Message is deleted.");
		return -1;
	}
	return (int)(n - 1);
}

static void
pop3d_stat(struct pop3d_session *s)
{
	unsigned int count = 0;
	uint64_t total = 0;
	for (unsigned int i = 0; i < s->box->count; i++) {
		if (!s->deleted[i]) {
			count++;
			total += s->vsizes[i];
		}
	}
	pop3d_reply(s, true, "%u %llu", count, (unsigned long long)total);
}

static void
pop3d_list_uidl(struct pop3d_session *s, bool uidl)
{
	const struct pop3_command *cmd = &s->cmd;
	if (cmd->n_args > 1) {
		pop3d_reply(s, false, "Too many arguments.");
		return;
	}
	if (cmd->n_args == 1) {
		int i = pop3d_msg_arg(s, cmd->args[0]);
		if (i < 0)
			return;
		if (uidl) {
			pop3d_reply(s, true, "%d %08x%08x", i + 1,
				s->box->msgs[i].uid, s->box->uidvalidity);
		} else {
			pop3d_reply(s, true, "%d %llu", i + 1,
				(unsigned long long)s->vsizes[i]);
		}
		return;
	}
	struct buf b;
	buf_init(&b);
	buf_append_str(&b, "+OK\r\n");
	for (unsigned int i = 0; i < s->box->count; i++) {
		if (s->deleted[i])
			continue;
		/* pop3_uidl_format = %08Xu%08Xv */
		if (uidl) {
			buf_printf(&b, "%u %08x%08x\r\n", i + 1,
				s->box->msgs[i].uid, s->box->uidvalidity);
		} else {
			buf_printf(&b, "%u %llu\r\n", i + 1,
				(unsigned long long)s->vsizes[i]);
		}
	}
	buf_append_str(&b, ".\r\n");
	conn_write(s->c, buf_data(&b), buf_len(&b));
	buf_clear(&b);
}

/* The index of the next "." that starts a line in [from, end), or end
 * (from >= 1). */
static size_t
pop3d_next_dot_line(const char *d, size_t from, size_t end)
{
	while (from < end) {
		const char *q = memchr(d + from, '.', end - from);
		if (q == NULL)
			return end;
		size_t i = (size_t)(q - d);
		if (d[i - 1] == '\n')
			return i;
		from = i + 1;
	}
	return end;
}

/* RETR: the message goes out as it is, by reference, in runs that end
 * before each line starting with "." (which gets one more, RFC 1939 3). */
static void
pop3d_send_runs(struct pop3d_session *s)
{
	const char *d = buf_data(&s->msg->text);
	size_t len = buf_len(&s->msg->text);
	while (s->msg_off < len &&
	       conn_output_pending(s->c) < POP3D_OUTPUT_HIGH) {
		size_t off = s->msg_off;
		if (d[off] == '.' && (off == 0 || d[off - 1] == '\n'))
			conn_write(s->c, ".", 1);
		size_t end = len - off > POP3D_CHUNK ? off + POP3D_CHUNK : len;
		size_t next = pop3d_next_dot_line(d, off + 1, end);
		conn_write_blob(s->c, s->msg, off, next - off);
		s->msg_off = next;
	}
	if (s->msg_off >= len && len > 0 && d[len - 1] != '\n')
		conn_write_str(s->c, "\r\n");
}

/* TOP: line by line, counting the body lines. */
static void
pop3d_send_lines(struct pop3d_session *s)
{
	const char *d = buf_data(&s->msg->text);
	size_t len = buf_len(&s->msg->text);
	struct buf out;
	buf_init(&out);
	while (s->msg_off < len && s->top_lines != 0 &&
	       conn_output_pending(s->c) < POP3D_OUTPUT_HIGH) {
		buf_reset(&out);
		while (s->msg_off < len && s->top_lines != 0 &&
		       buf_len(&out) < POP3D_CHUNK) {
			const char *p = d + s->msg_off;
			const char *nl = memchr(p, '\n', len - s->msg_off);
			size_t n = nl != NULL ? (size_t)(nl - p) : len - s->msg_off;
			size_t content = n;
			if (content > 0 && p[content - 1] == '\r')
				content--;
			if (content > 0 && p[0] == '.')
				buf_append_char(&out, '.');
			buf_append(&out, p, content);
			buf_append_str(&out, "\r\n");
			s->msg_off += n + (nl != NULL ? 1 : 0);
			if (s->in_body) {
				if (s->top_lines > 0)
					s->top_lines--;
			} else if (content == 0) {
				s->in_body = true;
			}
		}
		conn_write(s->c, buf_data(&out), buf_len(&out));
	}
	buf_clear(&out);
}

/* Writes the next piece of the message being sent, then the final "."
 * once it is all out. */
static void
pop3d_send_more(struct pop3d_session *s)
{
	if (s->top_lines < 0)
		pop3d_send_runs(s);
	else
		pop3d_send_lines(s);
	if (s->msg_off >= buf_len(&s->msg->text) || s->top_lines == 0) {
		conn_write_str(s->c, ".\r\n");
		conn_blob_unref(&s->msg);
		s->msg_off = 0;
		pop3d_set_state(s, POP3D_STATE_TRANSACTION);
		conn_pause_input(s->c, false);
	}
}

static void pop3d_retr_send(struct pop3d_session *s, unsigned int i,
	bool top, uint32_t lines, int ret);

/* A message not in the page cache, read in the worker pool with the
 * maildrop lent to it: the RETR or TOP it was for. */
static void
pop3d_read_done(void *ctx, int ret, struct buf *text)
{
	struct pop3d_session *s = ctx;
	s->box_lent = false;
	s->msg = conn_blob_new();
	buf_clear(&s->msg->text);
	s->msg->text = *text;
	buf_init(text);
	pop3d_retr_send(s, s->aside_i, s->aside_top, s->aside_lines, ret);
	if (s->state != POP3D_STATE_SENDING)
		conn_pause_input(s->c, false);
}

static void
pop3d_retr_top(struct pop3d_session *s, bool top)
{
	const struct pop3_command *cmd = &s->cmd;
	if (cmd->n_args != (top ? 2u : 1u)) {
		pop3d_reply(s, false, top ? "Usage: TOP msg lines" :
			"Usage: RETR msg");
		return;
	}
	int i = pop3d_msg_arg(s, cmd->args[0]);
	if (i < 0)
		return;
	uint32_t lines = 0;
	if (top && pop3_parse_number(cmd->args[1], &lines) < 0) {
		pop3d_reply(s, false, "Invalid number of lines.");
		return;
	}
	s->msg = conn_blob_new();
	int ret = mailbox_msg_read_cached(s->box, (unsigned int)i,
		&s->msg->text);
	if (ret == MAILBOX_WOULD_BLOCK) {
		/* not in the page cache: read in the worker pool */
		conn_blob_unref(&s->msg);
		s->aside_i = (unsigned int)i;
		s->aside_top = top;
		s->aside_lines = lines;
		s->box_lent = true;
		conn_pause_input(s->c, true);
		mailbox_read_aside(s->c, s->box, (unsigned int)i,
			pop3d_read_done, s);
		return;
	}
	pop3d_retr_send(s, (unsigned int)i, top, lines, ret);
}

/* RETR/TOP once message i is read into s->msg (ret as from
 * mailbox_msg_read()). */
static void
pop3d_retr_send(struct pop3d_session *s, unsigned int i, bool top,
	uint32_t lines, int ret)
{
	if (ret <= 0) {
		/* RFC 2449 8.1.1? no: Dovecot says the message vanished */
		pop3d_reply(s, false, ret == 0 ?
			"Message was expunged by another session." :
			"[SYS/TEMP] Could not read the message.");
		conn_blob_unref(&s->msg);
		return;
	}
	/* no copy when the file is CRLF already */
	mime_crlf_normalize_buf(&s->msg->text);
	s->msg_off = 0;
	s->in_body = false;
	s->top_lines = top ? (long long)lines : -1;
	s->seen[i] = true;
	if (top) {
		pop3d_reply(s, true, NULL);
	} else {
		pop3d_reply(s, true, "%llu octets",
			(unsigned long long)s->vsizes[i]);
		metric_inc(METRIC_POP3_RETRIEVED);
		metric_add(METRIC_POP3_RETRIEVED_BYTES, s->vsizes[i]);
	}
	if (top && lines == 0) {
		/* the headers and the blank line still go out */
		s->top_lines = -1;
		const char *d = buf_data(&s->msg->text);
		const char *end = strstr(d, "\r\n\r\n");
		if (end != NULL)
			buf_truncate(&s->msg->text, (size_t)(end - d) + 4);
	}
	pop3d_set_state(s, POP3D_STATE_SENDING);
	conn_pause_input(s->c, true);
	pop3d_send_more(s);
}

/* RFC 1939 6: the UPDATE state, in the worker pool with the maildrop lent
 * to it (unlinks and renames); the reply and the close come back on the
 * loop. The deletions stand even if the client is gone by then: it sent
 * QUIT. */
struct pop3d_update_req {
	struct pop3d_session *s; /* valid while the conn lives */
	char sid[17];
	char *address;
	struct mailbox *box;
	bool *deleted, *seen;
	unsigned int failed, expunged;
};

static void
pop3d_update_work(void *arg)
{
	struct pop3d_update_req *r = arg;
	struct mailbox *box = r->box;
	for (unsigned int i = 0; i < box->count; i++) {
		char *error = NULL;
		if (r->deleted[i]) {
			if (mailbox_expunge(box, i, &error) < 0) {
				log_error("pop3.expunge_error",
					"sid=%s error=%s", r->sid,
					log_quote(error));
				free(error);
				r->failed++;
			} else {
				r->expunged++;
			}
			continue;
		}
		if (r->seen[i] && (box->msgs[i].flags &
				   MAILBOX_FLAG_SEEN) == 0) {
			if (mailbox_set_flags(box, i,
				    box->msgs[i].flags | MAILBOX_FLAG_SEEN,
				    box->msgs[i].keywords, &error) < 0) {
				log_warn("pop3.flag_error", "sid=%s error=%s",
					r->sid, log_quote(error));
				free(error);
			}
		}
	}
}

static void
pop3d_update_done(struct conn *c, void *arg)
{
	struct pop3d_update_req *r = arg;
	log_info("pop3.logout", "sid=%s user=%s expunged=%u", r->sid,
		log_quote(r->address), r->expunged);
	if (c != NULL) {
		struct pop3d_session *s = r->s;
		if (r->failed > 0)
			pop3d_reply(s, false, "[SYS/TEMP] Some messages could "
				"not be deleted.");
		else if (r->expunged > 0)
			pop3d_reply(s, true, "Logging out, messages deleted.");
		else
			pop3d_reply(s, true, "Logging out.");
		pop3d_set_state(s, POP3D_STATE_CLOSING);
		conn_close(c);
	}
	/* the session keeps no maildrop after QUIT */
	mailbox_free(&r->box);
	free(r->deleted);
	free(r->seen);
	free(r->address);
	free(r);
}

static void
pop3d_quit_update(struct pop3d_session *s)
{
	struct pop3d_update_req *r = xcalloc(1, sizeof(*r));
	r->s = s;
	snprintf(r->sid, sizeof(r->sid), "%s", conn_sid(s->c));
	r->address = xstrdup(s->address);
	r->box = s->box;
	r->deleted = s->deleted;
	r->seen = s->seen;
	s->box = NULL;
	s->deleted = s->seen = NULL;
	conn_pause_input(s->c, true);
	worker_submit(s->c, pop3d_update_work, pop3d_update_done, r);
}

/* --- dispatch --- */

static void
pop3d_command_auth(struct pop3d_session *s)
{
	struct pop3_command *cmd = &s->cmd;
	switch (cmd->cmd) {
	case POP3_CMD_STLS:
		if (conn_is_tls(s->c) || !conn_tls_available(s->c)) {
			pop3d_reply(s, false, conn_is_tls(s->c) ?
				"TLS is already active." :
				"TLS support isn't enabled.");
			return;
		}
		pop3d_reply(s, true, "Begin TLS negotiation now.");
		pop3d_set_state(s, POP3D_STATE_TLS);
		if (conn_starttls(s->c) < 0) {
			pop3d_set_state(s, POP3D_STATE_AUTH);
			pop3d_reply(s, false, "TLS failed to start.");
		}
		return;
	case POP3_CMD_USER:
		if (!pop3d_plaintext_ok(s)) {
			pop3d_reply(s, false, "[AUTH] Plaintext authentication "
				"disallowed on non-secure (SSL/TLS) "
				"connections.");
			return;
		}
		if (cmd->n_args != 1) {
			pop3d_reply(s, false, "Usage: USER name");
			return;
		}
		free(s->user);
		s->user = xstrdup(cmd->args[0]);
		pop3d_reply(s, true, NULL);
		return;
	case POP3_CMD_PASS:
		if (!pop3d_plaintext_ok(s)) {
			pop3d_reply(s, false, "[AUTH] Plaintext authentication "
				"disallowed on non-secure (SSL/TLS) "
				"connections.");
			return;
		}
		if (s->user == NULL) {
			pop3d_reply(s, false, "No username given.");
			return;
		}
		{
			char *user = xstrdup(s->user);
			pop3d_authenticate(s, user, cmd->rest);
			free(user);
		}
		return;
	case POP3_CMD_AUTH:
		if (cmd->n_args == 0) {
			/* RFC 5034 4: list the mechanisms (a de-facto form
			 * many clients use) */
			conn_write_str(s->c, "+OK\r\nPLAIN\r\n.\r\n");
			return;
		}
		if (strcasecmp(cmd->args[0], "PLAIN") != 0) {
			pop3d_reply(s, false, "Unsupported authentication "
				"mechanism.");
			return;
		}
		if (!pop3d_plaintext_ok(s)) {
			pop3d_reply(s, false, "[AUTH] Plaintext authentication "
				"disallowed on non-secure (SSL/TLS) "
				"connections.");
			return;
		}
		if (cmd->n_args == 2) {
			/* RFC 5034 4: "=" is an empty initial response */
			const char *ir = strcmp(cmd->args[1], "=") == 0 ? "" :
				cmd->args[1];
			pop3d_sasl_plain(s, ir, strlen(ir));
			return;
		}
		pop3d_set_state(s, POP3D_STATE_SASL);
		conn_write_str(s->c, "+ \r\n");
		return;
	case POP3_CMD_APOP:
		pop3d_reply(s, false, "APOP isn't supported.");
		return;
	default:
		pop3d_reply(s, false, "Unknown command.");
		s->bad_commands++;
		return;
	}
}

static void
pop3d_command_transaction(struct pop3d_session *s)
{
	struct pop3_command *cmd = &s->cmd;
	switch (cmd->cmd) {
	case POP3_CMD_STAT:
		pop3d_stat(s);
		return;
	case POP3_CMD_LIST:
		pop3d_list_uidl(s, false);
		return;
	case POP3_CMD_UIDL:
		pop3d_list_uidl(s, true);
		return;
	case POP3_CMD_RETR:
		pop3d_retr_top(s, false);
		return;
	case POP3_CMD_TOP:
		pop3d_retr_top(s, true);
		return;
	case POP3_CMD_DELE: {
		if (cmd->n_args != 1) {
			pop3d_reply(s, false, "Usage: DELE msg");
			return;
		}
		int i = pop3d_msg_arg(s, cmd->args[0]);
		if (i < 0)
			return;
		s->deleted[i] = true;
		s->n_deleted++;
		pop3d_reply(s, true, "Marked to be deleted.");
		return;
	}
	case POP3_CMD_RSET:
		memset(s->deleted, 0, s->box->count * sizeof(bool));
		memset(s->seen, 0, s->box->count * sizeof(bool));
		s->n_deleted = 0;
		pop3d_reply(s, true, NULL);
		return;
	case POP3_CMD_NOOP:
		pop3d_reply(s, true, NULL);
		return;
	default:
		pop3d_reply(s, false, "Unknown command.");
		s->bad_commands++;
		return;
	}
}

static void
pop3d_on_line(void *ctx, const char *line, size_t len, bool too_long)
{
	struct pop3d_session *s = ctx;
	if (s->state == POP3D_STATE_CLOSING || s->state == POP3D_STATE_TLS)
		return;
	if (too_long) {
		pop3d_reply(s, false, "Line too long.");
		s->bad_commands++;
		goto check_errors;
	}
	if (s->state == POP3D_STATE_SASL) {
		pop3d_set_state(s, POP3D_STATE_AUTH);
		if (len > 0 && line[len - 1] == '\r')
			len--;
		pop3d_sasl_plain(s, line, len);
		return;
	}
	const char *error;
	if (pop3_command_parse_line(&s->cmd, line, len, &error) < 0) {
		pop3d_reply(s, false, "%s.", error);
		s->bad_commands++;
		goto check_errors;
	}
	if (s->cmd.cmd == POP3_CMD_QUIT) {
		if (s->state == POP3D_STATE_TRANSACTION) {
			pop3d_quit_update(s); /* replies and closes later */
			return;
		}
		pop3d_reply(s, true, "Logging out.");
		pop3d_set_state(s, POP3D_STATE_CLOSING);
		conn_close(s->c);
		return;
	}
	if (s->cmd.cmd == POP3_CMD_CAPA) {
		pop3d_capa(s);
		return;
	}
	if (s->state == POP3D_STATE_AUTH)
		pop3d_command_auth(s);
	else
		pop3d_command_transaction(s);
check_errors:
	if (s->bad_commands >= POP3D_MAX_BAD_COMMANDS) {
		pop3d_reply(s, false, "Too many invalid commands.");
		pop3d_set_state(s, POP3D_STATE_CLOSING);
		conn_close(s->c);
	}
}

static void
pop3d_on_drained(void *ctx)
{
	struct pop3d_session *s = ctx;
	if (s->state == POP3D_STATE_SENDING)
		pop3d_send_more(s);
}

static void
pop3d_on_timeout(void *ctx)
{
	struct pop3d_session *s = ctx;
	pop3d_reply(s, false, "Disconnected for inactivity.");
	pop3d_set_state(s, POP3D_STATE_CLOSING);
	conn_close(s->c);
}

static void
pop3d_on_tls_ready(void *ctx)
{
	struct pop3d_session *s = ctx;
	/* RFC 2595 4: the client forgets what it knew; so do we */
	free(s->user);
	s->user = NULL;
	pop3d_set_state(s, POP3D_STATE_AUTH);
}

static void
pop3d_on_closed(void *ctx, const char *reason)
{
	struct pop3d_session *s = ctx;
	log_info("pop3.disconnect", "sid=%s reason=%s", conn_sid(s->c), reason);
	pop3d_free(s);
}
