/* protocols.h: the session start function of each protocol.
 *
 * The runtime calls the one matching the listener's role on the loop thread,
 * after implicit TLS (if any) is up. The function installs a conn_handler,
 * sends the greeting and returns; it owns nothing of the caller's. */
#ifndef MAILSERVER_PROTOCOLS_H
#define MAILSERVER_PROTOCOLS_H

struct conn;

void smtpd_session_start(struct conn *c); /* smtp, submission, submissions */
void pop3d_session_start(struct conn *c); /* pop3, pop3s */
void imapd_session_start(struct conn *c); /* imap, imaps */

#endif
