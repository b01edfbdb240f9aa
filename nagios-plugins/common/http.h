/* http.h: GET on postierd's admin endpoint through libcurl, for
 * check_postier_health, _queue and _metric. Blocks for at most what is left
 * of the plugin's -t budget. Proxies from the environment are ignored: the
 * admin endpoint is a local address. */
#ifndef PLUGIN_HTTP_H
#define PLUGIN_HTTP_H

#include "postier.h"
#include "core/buf.h"
#include "plugin.h"

/* Largest body read (a /metrics of many series fits easily). */
#define PLUGIN_HTTP_MAX_BODY_BYTES (16 * 1024 * 1024)

/* Option keys of the admin-endpoint plugins (long-only). */
enum {
	PLUGIN_ADMIN_OPT_URL = 'u',
	PLUGIN_ADMIN_OPT_TOKEN_FILE = 2000,
};

struct plugin_admin {
	const char *url;        /* -u BASE (borrowed from argv) */
	const char *token_file; /* --token-file */
	char *token;            /* read from token_file */
};

extern const struct plugin_option plugin_admin_options[];
extern const size_t plugin_admin_n_options;

/* Handles -u and --token-file. Returns 1 when key was one of them, 0 when
 * not. */
int plugin_admin_option(struct plugin_admin *a, int key, const char *arg);
/* After option parsing: checks that -p or -u was given, reads the token
 * file. A problem is a usage error (exits UNKNOWN). */
void plugin_admin_check(struct plugin *p, struct plugin_admin *a);
/* "http://HOST:PORT" + path, or -u's base + path. Heap string. */
char *plugin_admin_url(const struct plugin *p, const struct plugin_admin *a,
	const char *path);
void plugin_admin_clear(struct plugin_admin *a);

struct plugin_http_result {
	long status;        /* HTTP status, 0 when none arrived */
	struct buf body;
	double total_s;     /* request time */
	char error[256];    /* transport error when plugin_http_get() < 0 */
};

/* GET url. Returns 0 when an HTTP answer arrived (any status), -1 when not
 * (refused, timeout, bad URL, body too large): r->error says why. Free r
 * with plugin_http_result_clear(). */
int plugin_http_get(const struct plugin *p, const char *url,
	const char *token, struct plugin_http_result *r);
void plugin_http_result_clear(struct plugin_http_result *r);

struct openmetrics_doc;
/* GET /metrics and parse it. Returns the document (caller frees with
 * openmetrics_free()) and the request time in *time_s_r; on a transport
 * failure or a status other than 200 ends the plugin with CRITICAL. */
struct openmetrics_doc *plugin_admin_metrics(struct plugin *p,
	const struct plugin_admin *a, double *time_s_r);

#endif
