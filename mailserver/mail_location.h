/* mail_location.h: Dovecot's mail_location syntax, so a site copies its
 * Dovecot setting across unchanged.
 *   maildir:~/Maildir                  home from the directory
 *   maildir:/var/vmail/%d/%n/Maildir   %u user@domain, %n user, %d domain,
 *                                      %h home, %% a percent sign
 * Options after ':' (e.g. ":LAYOUT=fs", ":INDEX=...") are accepted and
 * ignored unless they change the layout (LAYOUT=fs is refused: Maildir++
 * only). */
#ifndef MAILSERVER_MAIL_LOCATION_H
#define MAILSERVER_MAIL_LOCATION_H

#include "postier.h"

/* Checks the syntax. Returns 0 or -1 with *error_r. */
int mail_location_check(const char *location, char **error_r);
/* Expands the Maildir root for a user. home may be NULL (then "~" fails).
 * Returns a heap string, or NULL with *error_r. */
char *mail_location_expand(const char *location, const char *address,
	const char *home, char **error_r);

#endif
