/* imapd.c: the IMAP4rev1 session (RFC 3501): connection events, the
 * incremental command parser glue (literals: "+ OK" for synchronizing ones,
 * raw reads through conn_read_bytes(), LITERAL+ per RFC 7888), the command
 * table, replies, and the commands valid in any state plus authentication
 * (CAPABILITY, NOOP, LOGOUT, STARTTLS, LOGIN, AUTHENTICATE PLAIN, ID,
 * ENABLE, NAMESPACE). Mailbox, FETCH and SEARCH commands live in the
 * imapd_*.c files. */
#include "postier.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/metric.h"
#include "core/xmalloc.h"
#include "proto/imap_envelope.h"
#include "proto/imap_parser.h"
#include "proto/smtp_auth.h"
#include "conn.h"
#include "directory.h"
#include "guard.h"
#include "imapd.h"
#include "mailbox.h"
#include "maildir_write.h"
#include "protocols.h"
#include "settings.h"

#define IMAPD_MAX_BAD_COMMANDS 20

static void imapd_on_line(void *ctx, const char *line, size_t len,
	bool too_long);
static void imapd_on_data(void *ctx, const char *data, size_t len);
static void imapd_on_drained(void *ctx);
static void imapd_on_timeout(void *ctx);
static void imapd_on_tls_ready(void *ctx);
static void imapd_on_closed(void *ctx, const char *reason);

static const struct conn_handler imapd_handler = {
	.on_line = imapd_on_line,
	.on_data = imapd_on_data,
	.on_drained = imapd_on_drained,
	.on_timeout = imapd_on_timeout,
	.on_tls_ready = imapd_on_tls_ready,
	.on_closed = imapd_on_closed,
};

static const char *const imapd_state_names[] = {
	"not_auth", "auth", "selected", "logout",
};

static void
imapd_set_state(struct imapd_session *s, enum imapd_state state)
{
	if (s->state == state)
		return;
	log_debug("imap.state", "sid=%s from=%s to=%s", conn_sid(s->c),
		imapd_state_names[s->state], imapd_state_names[state]);
	s->state = state;
}

/* --- replies --- */

void
imapd_write(struct imapd_session *s, const struct buf *b)
{
	conn_write(s->c, buf_data(b), buf_len(b));
}

void
imapd_untagged(struct imapd_session *s, const char *fmt, ...)
{
	struct buf b;
	buf_init(&b);
	buf_append_str(&b, "* ");
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	buf_append_str(&b, "\r\n");
	imapd_write(s, &b);
	buf_clear(&b);
}

void
imapd_tagged(struct imapd_session *s, const char *status, const char *fmt, ...)
{
	struct buf b;
	buf_init(&b);
	buf_printf(&b, "%s %s ", s->tag != NULL ? s->tag : "*", status);
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	buf_append_str(&b, "\r\n");
	/* RFC 3501 5.2, 7: updates may follow any command (Dovecot sends
	 * them before every OK and NO); EXPUNGE not after non-UID FETCH,
	 * STORE, SEARCH (7.4.1). When the folder changed, the rescan runs in
	 * the worker pool and the reply waits for it. */
	if (s->state == IMAPD_STATE_SELECTED && (strcmp(status, "OK") == 0 ||
	    strcmp(status, "NO") == 0) &&
	    imapd_sync_start(s, (s->cmd_flags & IMAPD_CMD_NO_EXPUNGE) == 0)) {
		buf_append(&s->tagged_wait, buf_data(&b), buf_len(&b));
		buf_clear(&b);
		return;
	}
	imapd_write(s, &b);
	buf_clear(&b);
	if (strcmp(status, "BAD") == 0)
		s->bad_commands++;
}

void
imapd_sync_finished(struct imapd_session *s)
{
	if (buf_len(&s->tagged_wait) > 0) {
		imapd_write(s, &s->tagged_wait);
		buf_reset(&s->tagged_wait);
	}
	if (s->done_wait) {
		s->done_wait = false;
		imapd_command_done(s);
		return;
	}
	if (s->idling && s->sync_again) {
		s->sync_again = false;
		if (imapd_sync_start(s, true))
			return;
	}
	/* IDLE waits for DONE; a reply outside a command (a parse error)
	 * waits for the next one */
	if (!s->running || s->idling)
		conn_pause_input(s->c, false);
}

static const struct postierd_settings *
imapd_set(const struct imapd_session *s)
{
	return conn_settings(s->c);
}

static bool
imapd_plaintext_ok(const struct imapd_session *s)
{
	return conn_is_tls(s->c) || imapd_set(s)->imap_plaintext_auth;
}

void
imapd_capability_append(struct imapd_session *s, struct buf *out)
{
	buf_append_str(out, "IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE");
	if (s->state == IMAPD_STATE_NOT_AUTH) {
		if (!conn_is_tls(s->c) && conn_tls_available(s->c))
			buf_append_str(out, " STARTTLS");
		if (imapd_plaintext_ok(s))
			buf_append_str(out, " AUTH=PLAIN");
		else
			buf_append_str(out, " LOGINDISABLED");
	} else {
		buf_append_str(out, " NAMESPACE UIDPLUS MOVE SPECIAL-USE "
			"UNSELECT CHILDREN");
	}
}

/* --- session --- */

void
imapd_session_start(struct conn *c)
{
	struct imapd_session *s = xcalloc(1, sizeof(*s));
	const struct postierd_settings *set = conn_settings(c);
	s->c = c;
	s->conn_id = conn_id(c);
	s->state = IMAPD_STATE_NOT_AUTH;
	struct imap_parser_limits limits = IMAP_PARSER_DEFAULT_LIMITS;
	limits.max_line_bytes = (size_t)set->imap_max_line_bytes;
	limits.max_literal_bytes = set->imap_max_literal_size;
	s->parser = imap_parser_new(&limits);
	buf_init(&s->tagged_wait);
	conn_set_handler(c, &imapd_handler, s);
	conn_set_line_limit(c, (size_t)set->imap_max_line_bytes);
	conn_set_timeout(c, set->imap_timeout_ms);
	log_info("imap.connect", "sid=%s rip=%s tls=%s", conn_sid(c),
		conn_remote_ip(c), conn_is_tls(c) ? "yes" : "no");
	struct buf b;
	buf_init(&b);
	buf_append_str(&b, "* OK [CAPABILITY ");
	imapd_capability_append(s, &b);
	buf_append_str(&b, "] Postier ready.\r\n");
	imapd_write(s, &b);
	buf_clear(&b);
}

static void
imapd_free(struct imapd_session *s)
{
	if (s->idling)
		metric_gauge_add(METRIC_IMAP_IDLE_SESSIONS, -1);
	if (s->idle_registered)
		imapd_idle_unregister(s);
	imapd_fetch_free(s);
	imapd_search_free(s);
	imap_parser_free(&s->parser);
	if (s->box_busy)
		s->box = NULL; /* lent to the worker pool: the request frees it */
	mailbox_free(&s->box);
	buf_clear(&s->tagged_wait);
	free(s->tag);
	free(s->user);
	free(s->auth_attempt);
	free(s->maildir);
	free(s);
}

static void
imapd_close(struct imapd_session *s)
{
	imapd_set_state(s, IMAPD_STATE_LOGOUT);
	conn_close(s->c);
}

void
imapd_command_done(struct imapd_session *s)
{
	if (s->box_busy) {
		/* the tagged reply waits for a rescan: so does the end */
		s->done_wait = true;
		return;
	}
	s->running = false;
	s->cmd_flags = 0;
	free(s->tag);
	s->tag = NULL;
	if (s->state == IMAPD_STATE_LOGOUT)
		return;
	if (s->bad_commands >= IMAPD_MAX_BAD_COMMANDS) {
		imapd_untagged(s, "BYE Too many invalid commands.");
		imapd_close(s);
		return;
	}
	if (conn_server_draining(s->c)) {
		imapd_untagged(s, "BYE Server shutting down.");
		imapd_close(s);
		return;
	}
	conn_pause_input(s->c, false);
}

/* --- any state --- */

static bool
imapd_cmd_capability(struct imapd_session *s, const struct imap_arg *args)
{
	(void)args;
	struct buf b;
	buf_init(&b);
	buf_append_str(&b, "* CAPABILITY ");
	imapd_capability_append(s, &b);
	buf_append_str(&b, "\r\n");
	imapd_write(s, &b);
	buf_clear(&b);
	imapd_tagged(s, "OK", "Capability completed.");
	return true;
}

static bool
imapd_cmd_noop(struct imapd_session *s, const struct imap_arg *args)
{
	(void)args;
	imapd_tagged(s, "OK", "NOOP completed.");
	return true;
}

static bool
imapd_cmd_logout(struct imapd_session *s, const struct imap_arg *args)
{
	(void)args;
	imapd_untagged(s, "BYE Logging out");
	imapd_tagged(s, "OK", "Logout completed.");
	log_info("imap.logout", "sid=%s user=%s", conn_sid(s->c),
		log_quote(s->user != NULL ? s->user : ""));
	imapd_close(s);
	return true;
}

static bool
imapd_cmd_starttls(struct imapd_session *s, const struct imap_arg *args)
{
	(void)args;
	if (conn_is_tls(s->c)) {
		imapd_tagged(s, "BAD", "TLS is already active.");
		return true;
	}
	if (!conn_tls_available(s->c)) {
		imapd_tagged(s, "BAD", "TLS support isn't enabled.");
		return true;
	}
	imapd_tagged(s, "OK", "Begin TLS negotiation now.");
	if (conn_starttls(s->c) < 0) {
		imapd_untagged(s, "BYE TLS failed to start.");
		imapd_close(s);
		return true;
	}
	/* on_tls_ready() ends the command */
	return false;
}

static bool
imapd_cmd_id(struct imapd_session *s, const struct imap_arg *args)
{
	(void)args;
	/* RFC 2971 3.3 */
	imapd_untagged(s, "ID (\"name\" \"Postier\" \"version\" \"%s\")",
		POSTIER_VERSION);
	imapd_tagged(s, "OK", "ID completed.");
	return true;
}

static bool
imapd_cmd_enable(struct imapd_session *s, const struct imap_arg *args)
{
	(void)args;
	/* RFC 5161 3.1: nothing we know is enabled by ENABLE */
	imapd_untagged(s, "ENABLED");
	imapd_tagged(s, "OK", "Enabled.");
	return true;
}

static bool
imapd_cmd_namespace(struct imapd_session *s, const struct imap_arg *args)
{
	(void)args;
	/* RFC 2342 5: Dovecot's default Maildir++ inbox namespace */
	imapd_untagged(s, "NAMESPACE ((\"\" \".\")) NIL NIL");
	imapd_tagged(s, "OK", "Namespace completed.");
	return true;
}

/* --- authentication --- */

static void
imapd_login_failed(struct imapd_session *s, const char *user,
	const char *reason)
{
	bool banned = guard_auth_failed(s->c, user, reason);
	imapd_tagged(s, "NO", "[AUTHENTICATIONFAILED] Authentication failed.");
	if (banned) {
		imapd_untagged(s, "BYE Too many failed logins.");
		imapd_close(s);
	}
}

static void
imapd_auth_done(struct conn *c, enum directory_result result,
	struct directory_user *user, void *context)
{
	if (c == NULL) {
		directory_user_free(&user);
		return;
	}
	struct imapd_session *s = context;
	char *error = NULL;
	switch (result) {
	case DIRECTORY_FOUND:
		if (user->maildir == NULL ||
		    maildir_ensure(user->maildir, &error) < 0) {
			log_error("imap.mailbox_error", "sid=%s user=%s "
				"error=%s", conn_sid(c),
				log_quote(user->address),
				log_quote(error != NULL ? error :
					"no mail location"));
			free(error);
			imapd_tagged(s, "NO", "[UNAVAILABLE] Mailbox "
				"unavailable.");
			break;
		}
		s->user = xstrdup(user->address);
		s->maildir = xstrdup(user->maildir);
		guard_auth_succeeded(c, user->address);
		log_info("imap.login", "sid=%s user=%s", conn_sid(c),
			log_quote(user->address));
		imapd_set_state(s, IMAPD_STATE_AUTH);
		{
			struct buf b;
			buf_init(&b);
			imapd_capability_append(s, &b);
			imapd_tagged(s, "OK", "[CAPABILITY %s] Logged in",
				buf_data(&b));
			buf_clear(&b);
		}
		break;
	case DIRECTORY_NOT_FOUND:
		imapd_login_failed(s, s->auth_attempt, "bad_password");
		break;
	case DIRECTORY_ERROR:
		imapd_tagged(s, "NO", "[UNAVAILABLE] Temporary "
			"authentication failure.");
		break;
	}
	directory_user_free(&user);
	free(s->auth_attempt);
	s->auth_attempt = NULL;
	imapd_command_done(s);
}

static bool
imapd_cmd_login(struct imapd_session *s, const struct imap_arg *args)
{
	const char *user, *pass;
	if (!imap_arg_get_astring(&args[0], &user, NULL) ||
	    !imap_arg_get_astring(&args[1], &pass, NULL) ||
	    args[2].type != IMAP_ARG_EOL) {
		imapd_tagged(s, "BAD", "Usage: LOGIN user password");
		return true;
	}
	if (!imapd_plaintext_ok(s)) {
		imapd_tagged(s, "NO", "[PRIVACYREQUIRED] Plaintext "
			"authentication disallowed on non-secure (SSL/TLS) "
			"connections.");
		return true;
	}
	free(s->auth_attempt);
	s->auth_attempt = xstrdup(user);
	directory_authenticate_async(s->c, user, pass, imapd_auth_done, s);
	return false;
}

/* RFC 4616 PLAIN message in base64. Returns true when finished. */
static bool
imapd_sasl_plain(struct imapd_session *s, const char *b64, size_t len)
{
	if (len == 1 && b64[0] == '*') {
		imapd_tagged(s, "BAD", "Authentication aborted by client.");
		return true;
	}
	struct buf msg;
	buf_init(&msg);
	const char *authz, *authc, *pass;
	if (smtp_base64_decode(b64, len, &msg) < 0 ||
	    smtp_auth_plain_split(msg.data, buf_len(&msg), &authz, &authc,
		    &pass) < 0) {
		smtp_auth_wipe(&msg);
		buf_clear(&msg);
		imapd_login_failed(s, NULL, "bad_encoding");
		return true;
	}
	if (*authz != '\0' && strcmp(authz, authc) != 0) {
		char *user = xstrdup(authc);
		smtp_auth_wipe(&msg);
		buf_clear(&msg);
		imapd_login_failed(s, user, "bad_authzid");
		free(user);
		return true;
	}
	free(s->auth_attempt);
	s->auth_attempt = xstrdup(authc);
	directory_authenticate_async(s->c, authc, pass, imapd_auth_done, s);
	smtp_auth_wipe(&msg);
	buf_clear(&msg);
	return false;
}

static bool
imapd_cmd_authenticate(struct imapd_session *s, const struct imap_arg *args)
{
	const char *mech, *ir = NULL;
	if (!imap_arg_get_atom(&args[0], &mech)) {
		imapd_tagged(s, "BAD", "Usage: AUTHENTICATE mechanism");
		return true;
	}
	if (strcasecmp(mech, "PLAIN") != 0) {
		imapd_tagged(s, "NO", "Unsupported authentication mechanism.");
		return true;
	}
	if (!imapd_plaintext_ok(s)) {
		imapd_tagged(s, "NO", "[PRIVACYREQUIRED] Plaintext "
			"authentication disallowed on non-secure (SSL/TLS) "
			"connections.");
		return true;
	}
	if (args[1].type != IMAP_ARG_EOL) {
		/* RFC 4959 SASL-IR: "=" is an empty response */
		if (!imap_arg_get_atom(&args[1], &ir)) {
			imapd_tagged(s, "BAD", "Invalid initial response.");
			return true;
		}
		if (strcmp(ir, "=") == 0)
			ir = "";
		return imapd_sasl_plain(s, ir, strlen(ir));
	}
	s->sasl_wait = true;
	conn_write_str(s->c, "+ \r\n");
	conn_pause_input(s->c, false); /* the response line is input */
	return false;
}

/* --- the command table --- */

struct imapd_command {
	const char *name;
	bool (*func)(struct imapd_session *s, const struct imap_arg *args);
	unsigned int flags;
};

#define ANY (IMAPD_CMD_NOT_AUTH | IMAPD_CMD_AUTH)
static const struct imapd_command imapd_commands[] = {
	{ "CAPABILITY", imapd_cmd_capability, ANY },
	{ "NOOP", imapd_cmd_noop, ANY },
	{ "LOGOUT", imapd_cmd_logout, ANY },
	{ "ID", imapd_cmd_id, ANY },
	{ "STARTTLS", imapd_cmd_starttls, IMAPD_CMD_NOT_AUTH },
	{ "LOGIN", imapd_cmd_login, IMAPD_CMD_NOT_AUTH },
	{ "AUTHENTICATE", imapd_cmd_authenticate, IMAPD_CMD_NOT_AUTH },
	{ "ENABLE", imapd_cmd_enable, IMAPD_CMD_AUTH },
	{ "NAMESPACE", imapd_cmd_namespace, IMAPD_CMD_AUTH },
	{ "SELECT", imapd_cmd_select, IMAPD_CMD_AUTH },
	{ "EXAMINE", imapd_cmd_examine, IMAPD_CMD_AUTH },
	{ "CREATE", imapd_cmd_create, IMAPD_CMD_AUTH },
	{ "DELETE", imapd_cmd_delete, IMAPD_CMD_AUTH },
	{ "RENAME", imapd_cmd_rename, IMAPD_CMD_AUTH },
	{ "SUBSCRIBE", imapd_cmd_subscribe, IMAPD_CMD_AUTH },
	{ "UNSUBSCRIBE", imapd_cmd_unsubscribe, IMAPD_CMD_AUTH },
	{ "LIST", imapd_cmd_list, IMAPD_CMD_AUTH },
	{ "LSUB", imapd_cmd_lsub, IMAPD_CMD_AUTH },
	{ "STATUS", imapd_cmd_status, IMAPD_CMD_AUTH },
	{ "APPEND", imapd_cmd_append, IMAPD_CMD_AUTH },
	{ "IDLE", imapd_cmd_idle, IMAPD_CMD_AUTH },
	{ "CHECK", imapd_cmd_check, IMAPD_CMD_SELECTED },
	{ "CLOSE", imapd_cmd_close, IMAPD_CMD_SELECTED },
	{ "UNSELECT", imapd_cmd_unselect, IMAPD_CMD_SELECTED },
	{ "EXPUNGE", imapd_cmd_expunge, IMAPD_CMD_SELECTED | IMAPD_CMD_UID },
	{ "FETCH", imapd_cmd_fetch, IMAPD_CMD_SELECTED | IMAPD_CMD_UID |
		IMAPD_CMD_NO_EXPUNGE },
	{ "STORE", imapd_cmd_store, IMAPD_CMD_SELECTED | IMAPD_CMD_UID |
		IMAPD_CMD_NO_EXPUNGE },
	{ "SEARCH", imapd_cmd_search, IMAPD_CMD_SELECTED | IMAPD_CMD_UID |
		IMAPD_CMD_NO_EXPUNGE },
	/* COPY may report expunges (RFC 3501 7.4.1 names only the three
	 * above; Dovecot does too) */
	{ "COPY", imapd_cmd_copy, IMAPD_CMD_SELECTED | IMAPD_CMD_UID },
	{ "MOVE", imapd_cmd_move, IMAPD_CMD_SELECTED | IMAPD_CMD_UID },
};
#undef ANY

static void
imapd_dispatch(struct imapd_session *s)
{
	const char *name = imap_parser_command(s->parser);
	const struct imap_arg *args = imap_parser_args(s->parser, NULL);
	free(s->tag);
	s->tag = xstrdup(imap_parser_tag(s->parser));
	s->cmd_uid = false;
	s->cmd_flags = 0;
	if (strcasecmp(name, "UID") == 0) {
		if (!imap_arg_get_atom(&args[0], &name)) {
			imapd_tagged(s, "BAD", "Missing UID command.");
			return;
		}
		s->cmd_uid = true;
		args++;
	}
	const struct imapd_command *cmd = NULL;
	for (size_t i = 0; i < N_ELEMENTS(imapd_commands); i++) {
		if (strcasecmp(imapd_commands[i].name, name) == 0) {
			cmd = &imapd_commands[i];
			break;
		}
	}
	if (cmd == NULL || (s->cmd_uid && (cmd->flags & IMAPD_CMD_UID) == 0)) {
		imapd_tagged(s, "BAD", "Unknown command.");
		return;
	}
	s->cmd_flags = cmd->flags;
	if (s->cmd_uid)
		s->cmd_flags &= ~(unsigned int)IMAPD_CMD_NO_EXPUNGE;
	bool allowed;
	switch (s->state) {
	case IMAPD_STATE_NOT_AUTH:
		allowed = (cmd->flags & IMAPD_CMD_NOT_AUTH) != 0;
		break;
	case IMAPD_STATE_AUTH:
		allowed = (cmd->flags & IMAPD_CMD_AUTH) != 0;
		break;
	case IMAPD_STATE_SELECTED:
		allowed = (cmd->flags & (IMAPD_CMD_AUTH |
			IMAPD_CMD_SELECTED)) != 0;
		break;
	default:
		allowed = false;
		break;
	}
	if (!allowed) {
		imapd_tagged(s, "BAD", s->state == IMAPD_STATE_NOT_AUTH ?
			"Command requires authentication." :
			(cmd->flags & IMAPD_CMD_SELECTED) != 0 ?
			"No mailbox selected." :
			"Command not valid in this state.");
		return;
	}
	s->running = true;
	conn_pause_input(s->c, true);
	if (cmd->func(s, args))
		imapd_command_done(s);
}

/* After a parser error: reply, skip the rest of the line, maybe close. */
static void
imapd_parse_error(struct imapd_session *s)
{
	enum imap_parser_error kind;
	bool fatal;
	const char *error = imap_parser_error(s->parser, &kind, &fatal);
	const char *tag = imap_parser_tag(s->parser);
	free(s->tag);
	s->tag = tag != NULL ? xstrdup(tag) : NULL;
	if (kind == IMAP_PARSER_ERROR_LITERAL_TOO_BIG && !fatal)
		imapd_tagged(s, "NO", "[TOOBIG] %s.", error);
	else
		imapd_tagged(s, "BAD", "Error in IMAP command: %s.", error);
	free(s->tag);
	s->tag = NULL;
	imap_parser_reset(s->parser);
	size_t used;
	(void)imap_parser_parse(s->parser, "\n", 1, &used);
	if (fatal) {
		imapd_untagged(s, "BYE %s.", error);
		imapd_close(s);
	} else if (s->bad_commands >= IMAPD_MAX_BAD_COMMANDS) {
		imapd_untagged(s, "BYE Too many invalid commands.");
		imapd_close(s);
	}
}

/* Feeds bytes to the parser and acts on what it says. */
static void
imapd_feed(struct imapd_session *s, const char *data, size_t len)
{
	while (len > 0 && s->state != IMAPD_STATE_LOGOUT) {
		size_t used;
		int ret = imap_parser_parse(s->parser, data, len, &used);
		data += used;
		len -= used;
		if (ret < 0) {
			imapd_parse_error(s);
			return;
		}
		uint64_t size;
		bool sync;
		if (imap_parser_literal_begins(s->parser, &size, &sync)) {
			/* RFC 3501 7.5: "+" tells the client to go on */
			if (sync)
				conn_write_str(s->c, "+ OK\r\n");
			if (size > 0)
				conn_read_bytes(s->c, (size_t)size);
			continue;
		}
		if (ret == 1) {
			imapd_dispatch(s);
			imap_parser_reset(s->parser);
			if (s->running)
				return;
			continue;
		}
		if (used == 0)
			break;
	}
}

static void
imapd_on_line(void *ctx, const char *line, size_t len, bool too_long)
{
	struct imapd_session *s = ctx;
	if (s->state == IMAPD_STATE_LOGOUT)
		return;
	if (too_long) {
		/* the rest of the line is gone: the command cannot be read */
		imapd_untagged(s, "BAD Line too long.");
		imap_parser_reset(s->parser);
		size_t used;
		(void)imap_parser_parse(s->parser, "\n", 1, &used);
		if (++s->bad_commands >= IMAPD_MAX_BAD_COMMANDS) {
			imapd_untagged(s, "BYE Too many invalid commands.");
			imapd_close(s);
		}
		return;
	}
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (s->sasl_wait) {
		s->sasl_wait = false;
		conn_pause_input(s->c, true); /* until the check is done */
		if (imapd_sasl_plain(s, line, len))
			imapd_command_done(s);
		return;
	}
	if (s->idling) {
		if (len == 4 && strncasecmp(line, "DONE", 4) == 0) {
			imapd_idle_done(s);
		} else {
			imapd_untagged(s, "BAD Expected DONE.");
			imapd_idle_done(s);
		}
		return;
	}
	/* a command ends only at the line end, so it runs in the second
	 * call; an error in the first already skipped the line */
	imapd_feed(s, line, len);
	if (s->state != IMAPD_STATE_LOGOUT)
		imapd_feed(s, "\r\n", 2);
}

static void
imapd_on_data(void *ctx, const char *data, size_t len)
{
	struct imapd_session *s = ctx;
	if (s->state == IMAPD_STATE_LOGOUT)
		return;
	imapd_feed(s, data, len);
}

static void
imapd_on_drained(void *ctx)
{
	struct imapd_session *s = ctx;
	if (s->fetch != NULL)
		imapd_fetch_continue(s);
	else if (s->search != NULL)
		imapd_search_continue(s);
}

static void
imapd_on_timeout(void *ctx)
{
	struct imapd_session *s = ctx;
	imapd_untagged(s, "BYE Disconnected for inactivity.");
	imapd_close(s);
}

static void
imapd_on_tls_ready(void *ctx)
{
	struct imapd_session *s = ctx;
	/* STARTTLS's tagged OK went out before the handshake */
	imapd_command_done(s);
}

static void
imapd_on_closed(void *ctx, const char *reason)
{
	struct imapd_session *s = ctx;
	log_info("imap.disconnect", "sid=%s reason=%s", conn_sid(s->c),
		reason);
	imapd_free(s);
}
