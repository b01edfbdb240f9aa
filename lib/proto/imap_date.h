/* imap_date.h: IMAP dates and date-times.
 *
 *   RFC 3501 9: date = date-text / DQUOTE date-text DQUOTE
 *     date-text = date-day "-" date-month "-" date-year     (1-Feb-1994)
 *     date-time = DQUOTE date-day-fixed "-" date-month "-" date-year
 *                 SP time SP zone DQUOTE        (" 1-Feb-1994 21:52:25 -0800")
 */
#ifndef PROTO_IMAP_DATE_H
#define PROTO_IMAP_DATE_H

#include <time.h>
#include "postier.h"
#include "core/buf.h"

/* Parses a date (quotes already removed) into the UTC midnight of that day.
 * Returns 0 or -1. */
int imap_date_parse(const char *s, time_t *t_r);
/* Parses a date-time (quotes removed). Returns 0 or -1. */
int imap_datetime_parse(const char *s, time_t *t_r);
/* Appends t as a quoted date-time in the server's local zone, as Dovecot
 * shows INTERNALDATE: "24-Nov-2026 05:36:29 +0000". */
void imap_datetime_append(struct buf *out, time_t t);
/* Parses an RFC 5322 Date: header value leniently; -1 when unreadable. */
int imap_rfc822_date_parse(const char *s, time_t *t_r);

#endif
