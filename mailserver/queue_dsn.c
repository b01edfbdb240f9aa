/* queue_dsn.c: bounces (RFC 3464 delivery status notifications) for
 * recipients that failed permanently or outlived queue.max_lifetime.
 * The DSN goes back into the queue like any message, with the null
 * reverse-path (RFC 5321 4.5.5) so it can never bounce itself. Only local
 * senders can receive one until outbound delivery exists; the rest is
 * logged (XXX: acceptable while postierd only accepts mail for local
 * domains, so a remote sender's bounce has nowhere to go anyway). */
#include "postier.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "directory.h"
#include "queue_internal.h"
#include "spool.h"

/* Original headers returned in the DSN at most (RFC 3462 text/rfc822-headers). */
#define QUEUE_DSN_MAX_HEADER_BYTES (64 * 1024)

static void
queue_dsn_date(struct buf *out, int64_t time_us)
{
	time_t t = (time_t)(time_us / 1000000);
	struct tm tm;
	char s[64];
	gmtime_r(&t, &tm);
	strftime(s, sizeof(s), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	buf_append_str(out, s);
}

/* Appends the original header section (up to the empty line). */
static void
queue_dsn_headers(struct buf *out, const struct spool_envelope *env,
	int spool_fd)
{
	struct buf h;
	buf_init(&h);
	for (size_t i = 0; i < env->data_count &&
	     buf_len(&h) < QUEUE_DSN_MAX_HEADER_BYTES; i++) {
		size_t len = env->data[i].len;
		char *p = buf_reserve(&h, len);
		ssize_t n = pread(spool_fd, p, len, env->data[i].offset);
		if (n <= 0)
			break;
		buf_commit(&h, n);
		if (strstr(buf_data(&h), "\r\n\r\n") != NULL ||
		    strstr(buf_data(&h), "\n\n") != NULL)
			break;
	}
	const char *data = buf_data(&h);
	const char *end = strstr(data, "\r\n\r\n");
	size_t len = end != NULL ? (size_t)(end - data) + 2 : buf_len(&h);
	const char *lf_end = strstr(data, "\n\n");
	if (end == NULL && lf_end != NULL)
		len = lf_end - data + 1;
	if (len > QUEUE_DSN_MAX_HEADER_BYTES)
		len = QUEUE_DSN_MAX_HEADER_BYTES;
	buf_append(out, data, len);
	if (len == 0 || data[len - 1] != '\n')
		buf_append_str(out, "\r\n");
	buf_clear(&h);
}

void
queue_dsn_send(const struct spool_envelope *env, int spool_fd,
	const bool *failed, char *const *reason, const char *reporting_host)
{
	if (env->from[0] == '\0') {
		log_warn("dsn.dropped", "id=%s reason=null_sender", env->id);
		return;
	}
	struct directory_user *user = NULL;
	enum directory_result r = directory_lookup(env->from, &user);
	if (r != DIRECTORY_FOUND) {
		log_warn("dsn.dropped", "id=%s sender=%s reason=%s", env->id,
			log_quote(env->from), r == DIRECTORY_NOT_FOUND ?
			"sender_not_local" : "directory_error");
		return;
	}

	struct buf m;
	buf_init(&m);
	char boundary[96];
	snprintf(boundary, sizeof(boundary), "%s/%s", env->id, reporting_host);
	buf_printf(&m, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n",
		reporting_host);
	buf_printf(&m, "To: <%s>\r\n", env->from);
	buf_append_str(&m, "Subject: Undelivered Mail Returned to Sender\r\n");
	buf_append_str(&m, "Date: ");
	queue_dsn_date(&m, queue_now_us());
	buf_append_str(&m, "\r\n");
	buf_printf(&m, "Message-ID: <dsn.%s@%s>\r\n", env->id, reporting_host);
	buf_append_str(&m, "Auto-Submitted: auto-replied\r\n"
		"MIME-Version: 1.0\r\n");
	buf_printf(&m, "Content-Type: multipart/report; "
		"report-type=delivery-status;\r\n\tboundary=\"%s\"\r\n\r\n",
		boundary);
	buf_append_str(&m, "This is a MIME-encapsulated message.\r\n\r\n");

	/* human-readable part */
	buf_printf(&m, "--%s\r\nContent-Type: text/plain; charset=us-ascii"
		"\r\n\r\n", boundary);
	buf_printf(&m, "This is the mail system at host %s.\r\n\r\n"
		"Your message could not be delivered to one or more "
		"recipients:\r\n\r\n", reporting_host);
	for (size_t i = 0; i < env->rcpt_count; i++) {
		if (failed[i]) {
			buf_printf(&m, "<%s>: %s\r\n", env->rcpts[i].address,
				reason[i] != NULL ? reason[i] : "failed");
		}
	}
	/* RFC 3464 2.2 per-message, 2.3 per-recipient fields */
	buf_printf(&m, "\r\n--%s\r\nContent-Type: message/delivery-status"
		"\r\n\r\n", boundary);
	buf_printf(&m, "Reporting-MTA: dns; %s\r\n", reporting_host);
	buf_printf(&m, "X-Postier-Queue-ID: %s\r\n", env->id);
	buf_append_str(&m, "Arrival-Date: ");
	queue_dsn_date(&m, env->time_us);
	buf_append_str(&m, "\r\n");
	for (size_t i = 0; i < env->rcpt_count; i++) {
		if (!failed[i])
			continue;
		buf_printf(&m, "\r\nFinal-Recipient: rfc822; %s\r\n"
			"Action: failed\r\nStatus: 5.0.0\r\n"
			"Diagnostic-Code: X-Postier; ", env->rcpts[i].address);
		for (const char *p = reason[i] != NULL ? reason[i] : "failed";
		     *p != '\0'; p++)
			buf_append_char(&m, *p < ' ' ? ' ' : *p);
		buf_append_str(&m, "\r\n");
	}
	buf_printf(&m, "\r\n--%s\r\nContent-Type: text/rfc822-headers\r\n\r\n",
		boundary);
	queue_dsn_headers(&m, env, spool_fd);
	buf_printf(&m, "\r\n--%s--\r\n", boundary);

	struct queue_txn_info info = {
		.return_path = "",
		.helo = reporting_host,
		.client_ip = "127.0.0.1",
		.auth_user = NULL,
		.sid = "dsn",
	};
	char *error = NULL;
	struct queue_txn *txn = queue_txn_begin(&info, &error);
	if (txn == NULL) {
		log_error("dsn.failed", "id=%s error=%s", env->id,
			log_quote(error));
		free(error);
	} else {
		queue_txn_add_rcpt(txn, user->address, user->maildir);
		(void)queue_txn_write(txn, buf_data(&m), buf_len(&m));
		log_info("dsn.queued", "id=%s to=%s", env->id,
			log_quote(user->address));
		queue_txn_commit(txn, NULL, NULL, NULL);
	}
	buf_clear(&m);
	directory_user_free(&user);
}
