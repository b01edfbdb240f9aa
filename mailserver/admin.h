/* admin.h: the admin HTTP endpoint (evhttp on its own thread).
 *
 *   GET /metrics  OpenMetrics text (docs/metrics.md)
 *   GET /health   200 {"status":"ok"} or 503 {"status":"fail","reason":"..."}
 *   GET /status   JSON: version, uptime, sessions, queue, configuration path
 *
 * Bound to loopback by default; with admin.token set every request needs
 * "Authorization: Bearer TOKEN" (settings refuse a non-loopback address
 * without a token). */
#ifndef MAILSERVER_ADMIN_H
#define MAILSERVER_ADMIN_H

#include "postier.h"

struct postierd_settings;

/* Binds listen.admin (before privileges are dropped). Returns 0 (also when
 * the admin endpoint is disabled) or -1 with *error_r (heap). */
int admin_bind(const struct postierd_settings *set, char **error_r);
/* Starts the HTTP thread. Returns 0 or -1 with *error_r. */
int admin_start(char **error_r);
/* Stops the thread and frees everything. */
void admin_stop(void);

#endif
