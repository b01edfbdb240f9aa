/* smtpd_auth.c: SMTP AUTH (RFC 4954) with the PLAIN (RFC 4616) and LOGIN
 * mechanisms. Refused before TLS unless smtp.plaintext_auth; passwords are
 * checked by directory_authenticate_async() on a worker; failures go to the
 * guard (one log shape, counted, ban after too many). Decoded secrets are
 * wiped as soon as they were handed over. No other mechanism is offered
 * (CRAM-MD5 and SCRAM need the clear password or a stored key). */
#include "postier.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/xmalloc.h"
#include "conn.h"
#include "directory.h"
#include "guard.h"
#include "settings.h"
#include "smtpd.h"

/* base64 of "Username:" and "Password:" (the LOGIN mechanism's prompts) */
#define SMTPD_LOGIN_USER_PROMPT "VXNlcm5hbWU6"
#define SMTPD_LOGIN_PASSWORD_PROMPT "UGFzc3dvcmQ6"

struct smtpd_auth_req {
	struct smtpd_session *s; /* valid only when the callback's conn is */
	unsigned int req_id;
	char *user;
};

bool
smtpd_auth_offered(const struct smtpd_session *s)
{
	return conn_is_tls(s->conn) || s->set->smtp_plaintext_auth;
}

void
smtpd_auth_clear(struct smtpd_session *s)
{
	smtp_auth_wipe(&s->auth_buf);
	buf_clear(&s->auth_buf);
	if (s->login_user != NULL) {
		explicit_bzero(s->login_user, strlen(s->login_user));
		free(s->login_user);
		s->login_user = NULL;
	}
	s->auth_step = SMTPD_AUTH_STEP_NONE;
}

/* Ends the exchange with a failure reply; state back to READY. */
static void
smtpd_auth_fail(struct smtpd_session *s, const char *user, const char *reason,
	int code, const char *esc, const char *text)
{
	smtpd_auth_clear(s);
	smtpd_set_state(s, SMTPD_STATE_READY);
	bool banned = false;
	if (reason != NULL)
		banned = guard_auth_failed(s->conn, user, reason);
	if (banned) {
		smtpd_reply(s, code, esc, "%s", text);
		smtpd_close(s, "auth_banned", 421, "4.7.0",
			"Too many failed logins, closing");
		return;
	}
	smtpd_reply(s, code, esc, "%s", text);
}

static void
smtpd_auth_done(struct conn *c, enum directory_result result,
	struct directory_user *user, void *context)
{
	struct smtpd_auth_req *req = context;
	if (c == NULL || req->s->req_id != req->req_id) {
		directory_user_free(&user);
		free(req->user);
		free(req);
		return;
	}
	struct smtpd_session *s = req->s;
	smtpd_end_async(s);
	if (result == DIRECTORY_FOUND && user != NULL) {
		s->auth_user = xstrdup(user->address);
		smtpd_auth_clear(s);
		smtpd_set_state(s, SMTPD_STATE_READY);
		guard_auth_succeeded(c, s->auth_user);
		smtpd_reply(s, 235, "2.7.0", "Authentication successful");
	} else if (result == DIRECTORY_ERROR) {
		/* temporary: not a failed login */
		smtpd_auth_fail(s, req->user, NULL, 454, "4.7.0",
			"Temporary authentication failure");
	} else {
		smtpd_auth_fail(s, req->user, "bad_password", 535, "5.7.8",
			"Authentication credentials invalid");
	}
	directory_user_free(&user);
	free(req->user);
	free(req);
}

/* Hands user/password to the directory; wipes our copies. */
static void
smtpd_auth_check(struct smtpd_session *s, const char *user,
	const char *password)
{
	struct smtpd_auth_req *req = xcalloc(1, sizeof(*req));
	req->s = s;
	req->user = xstrdup(user);
	req->req_id = smtpd_begin_async(s);
	directory_authenticate_async(s->conn, user, password, smtpd_auth_done,
		req);
	smtpd_auth_clear(s);
}

/* Decodes one client response into s->auth_buf. Returns 0, or -1 after
 * replying (cancel, bad base64). */
static int
smtpd_auth_decode(struct smtpd_session *s, const char *in, size_t len)
{
	/* RFC 4954 4: "*" cancels the exchange */
	if (len == 1 && in[0] == '*') {
		smtpd_auth_fail(s, NULL, NULL, 501, "5.0.0",
			"Authentication cancelled");
		return -1;
	}
	smtp_auth_wipe(&s->auth_buf);
	/* reserve first so decoding never reallocates (no stray copies) */
	buf_reserve(&s->auth_buf, len);
	if (smtp_base64_decode(in, len, &s->auth_buf) < 0) {
		smtpd_auth_fail(s, s->login_user, "bad_encoding", 501, "5.5.2",
			"Invalid base64 data");
		return -1;
	}
	return 0;
}

static void
smtpd_auth_plain(struct smtpd_session *s)
{
	const char *authzid, *authcid, *passwd;
	if (smtp_auth_plain_split(s->auth_buf.data != NULL ? s->auth_buf.data :
	    (char *)"", buf_len(&s->auth_buf), &authzid, &authcid,
	    &passwd) < 0) {
		smtpd_auth_fail(s, NULL, "bad_encoding", 535, "5.7.8",
			"Authentication credentials invalid");
		return;
	}
	/* no proxy authorization: authzid empty or the same user */
	if (authzid[0] != '\0' && strcmp(authzid, authcid) != 0) {
		smtpd_auth_fail(s, authcid, "bad_authzid", 535, "5.7.8",
			"Authentication credentials invalid");
		return;
	}
	smtpd_auth_check(s, authcid, passwd);
}

static void
smtpd_auth_login_password(struct smtpd_session *s)
{
	if (smtp_auth_login_check(buf_data(&s->auth_buf),
	    buf_len(&s->auth_buf)) < 0) {
		smtpd_auth_fail(s, s->login_user, "bad_encoding", 535, "5.7.8",
			"Authentication credentials invalid");
		return;
	}
	char *user = s->login_user;
	s->login_user = NULL;
	smtpd_auth_check(s, user, buf_data(&s->auth_buf));
	free(user);
}

static void
smtpd_auth_login_user(struct smtpd_session *s)
{
	if (smtp_auth_login_check(buf_data(&s->auth_buf),
	    buf_len(&s->auth_buf)) < 0) {
		smtpd_auth_fail(s, NULL, "bad_encoding", 535, "5.7.8",
			"Authentication credentials invalid");
		return;
	}
	s->login_user = xstrdup(buf_data(&s->auth_buf));
	smtp_auth_wipe(&s->auth_buf);
	s->auth_step = SMTPD_AUTH_STEP_LOGIN_PASSWORD;
	smtpd_reply(s, 334, NULL, "%s", SMTPD_LOGIN_PASSWORD_PROMPT);
}

void
smtpd_auth_line(struct smtpd_session *s, const char *line, size_t len,
	bool too_long)
{
	if (too_long) {
		/* RFC 4954 4 */
		smtpd_auth_fail(s, NULL, NULL, 500, "5.5.6",
			"Authentication Exchange line is too long");
		return;
	}
	if (smtpd_auth_decode(s, line, len) < 0)
		return;
	switch (s->auth_step) {
	case SMTPD_AUTH_STEP_PLAIN:
		smtpd_auth_plain(s);
		break;
	case SMTPD_AUTH_STEP_LOGIN_USER:
		smtpd_auth_login_user(s);
		break;
	case SMTPD_AUTH_STEP_LOGIN_PASSWORD:
		smtpd_auth_login_password(s);
		break;
	case SMTPD_AUTH_STEP_NONE:
		log_panic("smtpd: AUTH line without a step");
	}
}

void
smtpd_cmd_auth(struct smtpd_session *s, const char *arg, size_t len)
{
	if (s->auth_user != NULL) {
		smtpd_reply(s, 503, "5.5.1", "Error: already authenticated");
		return;
	}
	if (s->state != SMTPD_STATE_READY) {
		/* RFC 4954 4: not during a mail transaction */
		smtpd_reply(s, 503, "5.5.1", "Error: MAIL transaction in progress");
		return;
	}
	if (!smtpd_auth_offered(s)) {
		smtpd_reply(s, 538, "5.7.11",
			"Encryption required for requested authentication mechanism");
		return;
	}
	if (guard_is_banned(conn_remote_ip(s->conn))) {
		(void)guard_auth_failed(s->conn, NULL, "banned");
		smtpd_close(s, "auth_banned", 421, "4.7.0",
			"Too many failed logins, try again later");
		return;
	}
	enum smtp_auth_mech mech;
	const char *initial;
	size_t initial_len;
	if (smtp_auth_parse(arg, len, &mech, &initial, &initial_len) < 0) {
		smtpd_reply(s, 501, "5.5.4", "Syntax: AUTH mechanism [response]");
		return;
	}
	if (mech == SMTP_AUTH_MECH_UNKNOWN) {
		smtpd_reply(s, 504, "5.5.4", "Unrecognized authentication type");
		return;
	}
	smtpd_set_state(s, SMTPD_STATE_AUTH);
	if (mech == SMTP_AUTH_MECH_PLAIN) {
		s->auth_step = SMTPD_AUTH_STEP_PLAIN;
		if (initial == NULL) {
			/* RFC 4954 4: an empty challenge */
			smtpd_reply(s, 334, NULL, "%s", "");
			return;
		}
		if (smtpd_auth_decode(s, initial, initial_len) == 0)
			smtpd_auth_plain(s);
		return;
	}
	s->auth_step = SMTPD_AUTH_STEP_LOGIN_USER;
	if (initial == NULL) {
		smtpd_reply(s, 334, NULL, "%s", SMTPD_LOGIN_USER_PROMPT);
		return;
	}
	if (smtpd_auth_decode(s, initial, initial_len) == 0)
		smtpd_auth_login_user(s);
}
