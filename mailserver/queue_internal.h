/* queue_internal.h: what queue.c shares with queue_dsn.c (and tests). Not
 * part of the contract with the SMTP session (that is queue.h). */
#ifndef MAILSERVER_QUEUE_INTERNAL_H
#define MAILSERVER_QUEUE_INTERNAL_H

#include <stdint.h>
#include "postier.h"
#include "queue.h"

struct spool_envelope;

/* Builds an RFC 3464 delivery status notification for the recipients of env
 * marked failed (failed[i] true, reason[i] text), with the original headers
 * read from spool_fd, and queues it to env->from when that is a local
 * address (a non-local or null sender gets nothing: no outbound delivery
 * yet; logged). Blocks (directory look-up, spool write): worker threads. */
void queue_dsn_send(const struct spool_envelope *env, int spool_fd,
	const bool *failed, char *const *reason, const char *reporting_host);

/* The host name the queue uses (Maildir names, DSN). */
const char *queue_hostname(void);

/* Current time in microseconds (CLOCK_REALTIME). */
int64_t queue_now_us(void);

#endif
