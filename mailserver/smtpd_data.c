/* smtpd_data.c: DATA (RFC 5321 4.1.1.4): the Received header (4.4), the
 * message text through the DATA reader (lib/proto/smtp_data.h) into the
 * queue transaction in large chunks, and the answer after the group commit
 * (250 only once the message is durable).
 *
 * BDAT (RFC 3030 CHUNKING) feeds the same reader in chunking mode: the
 * chunks' bytes arrive raw (conn_read_bytes), without dot-stuffing.
 *
 * Limits are enforced while reading and answered at the end, after the
 * whole message was consumed, so the session stays usable: over
 * smtp.max_message_size -> 552 5.3.4; a line over smtp.max_line_bytes
 * -> 554 5.6.0 (docs/smtp.md explains why we do not accept such lines). */
#include "postier.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/metric.h"
#include "core/xmalloc.h"
#include "conn.h"
#include "queue.h"
#include "settings.h"
#include "smtpd.h"

/* Message bytes handed to queue_txn_write() at once. */
#define SMTPD_DATA_CHUNK (64 * 1024)

struct smtpd_commit_req {
	struct smtpd_session *s; /* valid only when the callback's conn is */
	unsigned int req_id;
	char sid[32];
	char from[SMTP_PATH_MAX_BYTES + 1];
	uint64_t size;
	unsigned int rcpts;
	struct timespec started;
};

/* RFC 5321 4.4 time stamp line. The HELO name is the client's word: the
 * characters that would end the comment or the clause are replaced. */
static void
smtpd_received(struct smtpd_session *s, struct buf *b)
{
	bool tls = conn_is_tls(s->conn);
	bool auth = s->auth_user != NULL;
	/* RFC 3848 */
	const char *with = !s->esmtp ? "SMTP" :
		tls ? (auth ? "ESMTPSA" : "ESMTPS") : (auth ? "ESMTPA" : "ESMTP");
	char helo[sizeof(s->helo)];
	size_t i;
	for (i = 0; s->helo[i] != '\0'; i++) {
		char c = s->helo[i];
		helo[i] = strchr("()\\;\"", c) != NULL ? '_' : c;
	}
	helo[i] = '\0';
	const char *ip = conn_remote_ip(s->conn);
	buf_printf(b, "Received: from %s ([%s%s])\r\n\tby %s (Postier) with %s "
		"id %s", helo, strchr(ip, ':') != NULL ? "IPv6:" : "", ip,
		s->set->hostname, with, s->sid);
	if (tls)
		buf_printf(b, "\r\n\t(%s)", conn_tls_description(s->conn));
	if (s->txn.n_rcpts == 1)
		buf_printf(b, "\r\n\tfor <%s>", s->txn.rcpts[0].address);
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	buf_printf(b, ";\r\n\t%s\r\n", date);
}

/* Why a message cannot start now (DATA or the first BDAT), or NULL. */
static const struct smtp_error *
smtpd_message_refusal(struct smtpd_session *s)
{
	static const struct smtp_error no_rcpts =
		{ 554, "5.5.1", "Error: no valid recipients" };
	static const struct smtp_error need_rcpt =
		{ 503, "5.5.1", "Error: need RCPT command" };
	static const struct smtp_error need_mail =
		{ 503, "5.5.1", "Error: need MAIL command" };
	if (s->state == SMTPD_STATE_RCPT)
		return NULL;
	/* RFC 2920 3.1: every RCPT of the group failed */
	if (s->state == SMTPD_STATE_MAIL && s->txn.n_rcpt_cmds > 0)
		return &no_rcpts;
	if (s->state == SMTPD_STATE_MAIL)
		return &need_rcpt;
	return &need_mail;
}

/* Opens the queue transaction, resets the reader and writes the Received
 * header. Returns 0, or -1 when the queue could not start a message. */
static int
smtpd_message_begin(struct smtpd_session *s, bool chunking)
{
	struct queue_txn_info info = {
		.return_path = s->txn.from.addr,
		.helo = s->helo,
		.client_ip = conn_remote_ip(s->conn),
		.auth_user = s->auth_user,
		.sid = s->sid,
	};
	char *error = NULL;
	s->txn.qtxn = queue_txn_begin(&info, &error);
	if (s->txn.qtxn == NULL) {
		log_error("smtp.queue_error", "sid=%s error=%s", s->sid,
			log_quote(error != NULL ? error : "unknown"));
		free(error);
		return -1;
	}
	for (unsigned int i = 0; i < s->txn.n_rcpts; i++) {
		queue_txn_add_rcpt(s->txn.qtxn, s->txn.rcpts[i].address,
			s->txn.rcpts[i].maildir);
	}
	smtp_data_reader_reset(&s->reader);
	s->reader.chunking = chunking;
	s->reader.max_line_bytes = (size_t)s->set->smtp_max_line_bytes;
	s->reader.max_size = s->set->smtp_max_message_size;
	buf_reset(&s->data);
	/* one allocation per message: a chunk plus the longest line */
	buf_reserve(&s->data, SMTPD_DATA_CHUNK + SMTP_AUTH_MAX_RESPONSE_BYTES);
	smtpd_received(s, &s->data);
	return 0;
}

void
smtpd_cmd_data(struct smtpd_session *s)
{
	const struct smtp_error *refusal = smtpd_message_refusal(s);
	if (refusal != NULL) {
		smtpd_reply_error(s, refusal);
		return;
	}
	if (smtpd_message_begin(s, false) < 0) {
		smtpd_reply(s, 451, "4.3.0", "Error: queue file write error");
		return;
	}
	smtpd_set_state(s, SMTPD_STATE_DATA);
	smtpd_reply(s, 354, NULL, "End data with <CR><LF>.<CR><LF>");
}

static void
smtpd_data_flush(struct smtpd_session *s)
{
	if (buf_len(&s->data) == 0)
		return;
	/* a message that will be refused is not written any further */
	if (!s->reader.too_big && !s->reader.line_too_long &&
	    !s->txn.write_failed &&
	    queue_txn_write(s->txn.qtxn, buf_data(&s->data),
	    buf_len(&s->data)) < 0)
		s->txn.write_failed = true;
	buf_reset(&s->data);
}

static void
smtpd_commit_done(struct conn *c, int status, const char *queue_id,
	void *context)
{
	struct smtpd_commit_req *req = context;
	double took = smtpd_elapsed_s(&req->started);
	if (status == 0) {
		metric_inc(METRIC_SMTP_MESSAGES);
		metric_add(METRIC_SMTP_BYTES, req->size);
		metric_observe(METRIC_SMTP_TRANSACTION_SECONDS, took);
		log_info("smtp.message", "sid=%s qid=%s from=%s size=%llu "
			"rcpts=%u duration_ms=%.0f%s", req->sid, queue_id,
			log_quote(req->from), (unsigned long long)req->size,
			req->rcpts, took * 1000,
			c == NULL ? " client=gone" : "");
	} else {
		metric_inc(METRIC_SMTP_REJECTED_MESSAGES);
		log_error("smtp.queue_error", "sid=%s error=commit_failed",
			req->sid);
	}
	if (c == NULL || req->s->req_id != req->req_id) {
		free(req);
		return;
	}
	struct smtpd_session *s = req->s;
	smtpd_end_async(s);
	smtpd_txn_reset(s);
	if (status == 0) {
		s->messages++;
		smtpd_reply(s, 250, "2.0.0", "Ok: queued as %s", queue_id);
	} else {
		smtpd_reply(s, 451, "4.3.0", "Error: queue file write error");
	}
	free(req);
	if (conn_server_draining(s->conn)) {
		smtpd_close(s, "shutdown", 421, "4.3.2",
			"Service shutting down, try again later");
	}
}

static void
smtpd_data_refuse(struct smtpd_session *s, const char *reason, int code,
	const char *esc, const char *text)
{
	metric_inc(METRIC_SMTP_REJECTED_MESSAGES);
	log_info("smtp.reject", "sid=%s from=%s size=%llu reason=%s", s->sid,
		log_quote(s->txn.from.addr),
		(unsigned long long)s->reader.size, reason);
	smtpd_txn_reset(s);
	smtpd_reply(s, code, esc, "%s", text);
}

static void
smtpd_data_end(struct smtpd_session *s)
{
	if (s->reader.too_big) {
		smtpd_data_refuse(s, "size", 552, "5.3.4",
			"Message size exceeds fixed maximum message size");
		return;
	}
	if (s->reader.line_too_long) {
		smtpd_data_refuse(s, "line_length", 554, "5.6.0",
			"Message refused: a line is longer than 1000 octets "
			"(RFC 5321 4.5.3.1.6)");
		return;
	}
	smtpd_data_flush(s);
	if (s->txn.write_failed) {
		metric_inc(METRIC_SMTP_REJECTED_MESSAGES);
		smtpd_txn_reset(s);
		smtpd_reply(s, 451, "4.3.0", "Error: queue file write error");
		return;
	}
	struct smtpd_commit_req *req = xcalloc(1, sizeof(*req));
	req->s = s;
	snprintf(req->sid, sizeof(req->sid), "%s", s->sid);
	memcpy(req->from, s->txn.from.addr, sizeof(req->from));
	req->size = s->reader.size;
	req->rcpts = s->txn.n_rcpts;
	req->started = s->txn.started;
	req->req_id = smtpd_begin_async(s);
	struct queue_txn *qtxn = s->txn.qtxn;
	s->txn.qtxn = NULL; /* the commit owns it now */
	buf_clear(&s->data);
	/* RFC 5321 4.5.3.2.6: the client waits 10 minutes for this reply */
	conn_set_timeout(s->conn, s->set->smtp_timeout_data_term_ms);
	queue_txn_commit(qtxn, s->conn, smtpd_commit_done, req);
}

void
smtpd_data_line(struct smtpd_session *s, const char *line, size_t len,
	bool too_long)
{
	unsigned int flags = 0;
	if (too_long) {
		flags = SMTP_DATA_LINE_TOO_LONG | SMTP_DATA_LINE_CRLF;
	} else if (line[len] != '\n') {
		/* conn.h: line[len] is '\r' for CRLF, '\n' for a bare LF.
		 * "." ends the data only between CRLFs (SMTP smuggling). */
		flags = SMTP_DATA_LINE_CRLF;
	}
	if (smtp_data_line(&s->reader, line, len, flags, &s->data) > 0) {
		smtpd_data_end(s);
		return;
	}
	if (buf_len(&s->data) >= SMTPD_DATA_CHUNK)
		smtpd_data_flush(s);
}

/* --- BDAT (RFC 3030) --- */

static void
smtpd_bdat_chunk_done(struct smtpd_session *s)
{
	conn_set_timeout(s->conn, s->set->smtp_timeout_command_ms);
	if (s->bdat_refuse != NULL) {
		const struct smtp_error *err = s->bdat_refuse;
		s->bdat_refuse = NULL;
		smtpd_reply_error(s, err);
		return;
	}
	if (s->reader.too_big) {
		/* RFC 3030 2: the transaction fails; later chunks get 503 */
		smtpd_data_refuse(s, "size", 552, "5.3.4",
			"Message size exceeds fixed maximum message size");
		return;
	}
	if (!s->bdat_last) {
		if (buf_len(&s->data) >= SMTPD_DATA_CHUNK)
			smtpd_data_flush(s);
		smtpd_reply(s, 250, "2.0.0", "%llu octets received",
			(unsigned long long)s->txn.bdat_octets);
		return;
	}
	smtp_data_finish(&s->reader, &s->data);
	smtpd_data_end(s);
}

void
smtpd_on_data(void *context, const char *data, size_t len)
{
	struct smtpd_session *s = context;
	if (s->state == SMTPD_STATE_QUIT)
		return;
	PASSERT(len <= s->bdat_left);
	s->bdat_left -= len;
	if (s->bdat_refuse == NULL) {
		s->txn.bdat_octets += len;
		size_t used;
		/* chunking mode consumes everything */
		(void)smtp_data_parse(&s->reader, data, len, &s->data, &used);
		if (buf_len(&s->data) >= SMTPD_DATA_CHUNK)
			smtpd_data_flush(s);
	}
	if (s->bdat_left == 0)
		smtpd_bdat_chunk_done(s);
}

void
smtpd_cmd_bdat(struct smtpd_session *s, const char *arg, size_t len)
{
	static const struct smtp_error queue_error =
		{ 451, "4.3.0", "Error: queue file write error" };
	uint64_t size;
	bool last;
	const struct smtp_error *err;
	if (smtp_bdat_parse(arg, len, &size, &last, &err) < 0) {
		/* XXX: without a size the chunk cannot be skipped; its bytes
		 * will be read as commands (and fail) like Postfix does */
		smtpd_reply_error(s, err);
		return;
	}
	s->bdat_refuse = NULL;
	s->bdat_last = last;
	if (s->state != SMTPD_STATE_BDAT) {
		/* MAIL/RCPT passed the TLS and AUTH checks already */
		s->bdat_refuse = smtpd_message_refusal(s);
		if (s->bdat_refuse == NULL) {
			if (smtpd_message_begin(s, true) < 0)
				s->bdat_refuse = &queue_error;
			else
				s->txn.bdat = true;
		}
		if (s->bdat_refuse == NULL)
			smtpd_set_state(s, SMTPD_STATE_BDAT);
	}
	if (size == 0) {
		smtpd_bdat_chunk_done(s);
		return;
	}
	/* RFC 3030 2: the chunk is read even when the command is refused */
	s->bdat_left = size;
	conn_set_timeout(s->conn, s->set->smtp_timeout_data_block_ms);
	conn_read_bytes(s->conn, (size_t)size);
}
