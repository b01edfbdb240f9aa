/* guard.h: connection limits and the authentication ban, for every protocol.
 *
 * Limits are checked by the runtime at accept (421 4.7.0 / -ERR / BYE beyond
 * them). Sessions report logins here: after auth_ban_failures failed logins
 * within auth_ban_window from one address (any protocol), that address is
 * refused for auth_ban_time. All functions are thread-safe. */
#ifndef MAILSERVER_GUARD_H
#define MAILSERVER_GUARD_H

#include "postier.h"

struct conn;

/* True while ip is banned. */
bool guard_is_banned(const char *ip);

/* Records a failed login and logs it in the one fixed shape
 *   auth.fail sid=... proto=imap user="bob" rip=203.0.113.7 reason=...
 * (fail2ban matches it), counts it in /metrics, and returns true when this
 * failure banned the address (the session should then close). user may be
 * NULL when unknown; reason is a short token ("bad_password",
 * "unknown_user", "bad_encoding", "banned"). */
bool guard_auth_failed(const struct conn *c, const char *user,
	const char *reason);

/* Records a successful login (logged as auth.ok, counted). */
void guard_auth_succeeded(const struct conn *c, const char *user);

#endif
