/* admin.c: /metrics, /health and /status over evhttp, on a thread of its own
 * so that a slow scraper never delays a mail session (see admin.h).
 * Queue listing and flush are not here yet. */
#include "postier.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/metric.h"
#include "core/xmalloc.h"
#include "admin.h"
#include "queue.h"
#include "server.h"
#include "settings.h"

static struct {
	int fd;
	struct event_base *base;
	struct evhttp *http;
	pthread_t thread;
	bool running;
} admin = { .fd = -1 };

int
admin_bind(const struct postierd_settings *set, char **error_r)
{
	char *host;
	int port;
	if (set->listen_admin == NULL)
		return 0;
	if (settings_parse_listen(set->listen_admin, &host, &port) < 0) {
		*error_r = xasprintf("listen.admin: bad address %s",
			set->listen_admin);
		return -1;
	}
	struct addrinfo hints = {
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
	}, *ai;
	char portstr[16];
	snprintf(portstr, sizeof(portstr), "%d", port);
	int gai = getaddrinfo(host, portstr, &hints, &ai);
	if (gai != 0) {
		*error_r = xasprintf("listen.admin: %s: %s", host, gai_strerror(gai));
		free(host);
		return -1;
	}
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		SOCK_CLOEXEC, ai->ai_protocol);
	int one = 1;
	if (fd >= 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
		listen(fd, 128) < 0) {
		*error_r = xasprintf("listen.admin: cannot listen on %s: %s",
			set->listen_admin, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		free(host);
		return -1;
	}
	freeaddrinfo(ai);
	log_info("server.listen", "role=admin address=%s port=%d",
		log_quote(host), port);
	free(host);
	admin.fd = fd;
	return 0;
}

/* --- JSON helpers --- */

static void
admin_json_string(struct buf *out, const char *s)
{
	buf_append_char(out, '"');
	for (; s != NULL && *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			buf_printf(out, "\\%c", ch);
		else if (ch < 0x20)
			buf_printf(out, "\\u%04x", ch);
		else
			buf_append_char(out, (char)ch);
	}
	buf_append_char(out, '"');
}

static void
admin_reply(struct evhttp_request *req, int code, const char *reason,
	const char *content_type, const struct buf *body)
{
	struct evbuffer *out = evbuffer_new();
	evbuffer_add(out, buf_data(body), buf_len(body));
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Content-Type", content_type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_send_reply(req, code, reason, out);
	evbuffer_free(out);
}

static void
admin_reply_json(struct evhttp_request *req, int code, const char *reason,
	const struct buf *body)
{
	admin_reply(req, code, reason, "application/json", body);
}

/* --- handlers --- */

static void
admin_collect(void *context ATTR_UNUSED)
{
	long long messages = 0;
	double oldest = 0;
	queue_stats(&messages, &oldest);
	metric_gauge_set(METRIC_QUEUE_MESSAGES, messages);
	metric_gauge_set(METRIC_QUEUE_OLDEST_AGE, (int64_t)oldest);
	(void)guard_banned_count();
}

static void
admin_metrics(struct evhttp_request *req)
{
	struct buf body;
	buf_init(&body);
	metric_render(&body);
	admin_reply(req, HTTP_OK, "OK", METRIC_CONTENT_TYPE, &body);
	buf_clear(&body);
}

static void
admin_health(struct evhttp_request *req)
{
	struct buf body;
	char *reason = NULL;
	buf_init(&body);
	if (!server_listeners_ok(&reason) || !queue_is_healthy(&reason)) {
		buf_append_str(&body, "{\"status\":\"fail\",\"reason\":");
		admin_json_string(&body, reason != NULL ? reason : "unknown");
		buf_append_str(&body, "}\n");
		admin_reply_json(req, 503, "Service Unavailable", &body);
	} else {
		buf_append_str(&body, "{\"status\":\"ok\"}\n");
		admin_reply_json(req, HTTP_OK, "OK", &body);
	}
	free(reason);
	buf_clear(&body);
}

static void
admin_status(struct evhttp_request *req)
{
	const struct postierd_settings *set = settings_current();
	long long messages = 0;
	double oldest = 0;
	struct buf body;

	queue_stats(&messages, &oldest);
	buf_init(&body);
	buf_append_str(&body, "{\"version\":");
	admin_json_string(&body, POSTIER_VERSION);
	buf_append_str(&body, ",\"hostname\":");
	admin_json_string(&body, set->hostname);
	buf_append_str(&body, ",\"config\":");
	admin_json_string(&body, set->config_path);
	buf_printf(&body, ",\"pid\":%ld,\"uptime_s\":%.3f,\"threads\":%d,"
		"\"draining\":%s,\"connections\":%lld",
		(long)getpid(), server_uptime_s(), server_thread_count(),
		server_is_draining() ? "true" : "false", server_conn_count());
	buf_printf(&body, ",\"sessions\":{\"smtp\":%lld,\"pop3\":%lld,"
		"\"imap\":%lld}", server_session_count("smtp"),
		server_session_count("pop3"), server_session_count("imap"));
	buf_printf(&body, ",\"queue\":{\"messages\":%lld,\"oldest_age_s\":%.3f}",
		messages, oldest);
	buf_append_str(&body, ",\"listeners\":{");
	for (int r = 0; r < CONN_ROLE_COUNT; r++) {
		buf_printf(&body, "%s\"%s\":%s", r > 0 ? "," : "",
			conn_role_name((enum conn_role)r),
			server_role_open((enum conn_role)r) ? "true" : "false");
	}
	buf_printf(&body, "},\"auth_banned_addresses\":%lld}\n",
		guard_banned_count());
	admin_reply_json(req, HTTP_OK, "OK", &body);
	buf_clear(&body);
}

/* Constant-time comparison: the token is a secret. */
static bool
admin_token_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = la != lb;
	for (size_t i = 0; i < la && i < lb; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

static bool
admin_authorized(struct evhttp_request *req)
{
	const char *token = settings_current()->admin_token;
	if (token == NULL)
		return true;
	const char *auth = evhttp_find_header(
		evhttp_request_get_input_headers(req), "Authorization");
	return auth != NULL && strncmp(auth, "Bearer ", 7) == 0 &&
		admin_token_equal(auth + 7, token);
}

static void
admin_request(struct evhttp_request *req, void *context ATTR_UNUSED)
{
	const char *uri = evhttp_request_get_uri(req);
	struct evhttp_uri *parsed = evhttp_uri_parse(uri);
	const char *path = parsed != NULL ? evhttp_uri_get_path(parsed) : NULL;
	struct buf body;
	buf_init(&body);

	if (!admin_authorized(req)) {
		buf_append_str(&body, "{\"error\":\"unauthorized\"}\n");
		evhttp_add_header(evhttp_request_get_output_headers(req),
			"WWW-Authenticate", "Bearer");
		admin_reply_json(req, 401, "Unauthorized", &body);
	} else if (evhttp_request_get_command(req) != EVHTTP_REQ_GET &&
		evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
		buf_append_str(&body, "{\"error\":\"method not allowed\"}\n");
		admin_reply_json(req, 405, "Method Not Allowed", &body);
	} else if (path != NULL && strcmp(path, "/metrics") == 0) {
		admin_metrics(req);
	} else if (path != NULL && strcmp(path, "/health") == 0) {
		admin_health(req);
	} else if (path != NULL && strcmp(path, "/status") == 0) {
		admin_status(req);
	} else {
		buf_append_str(&body, "{\"error\":\"not found\"}\n");
		admin_reply_json(req, HTTP_NOTFOUND, "Not Found", &body);
	}
	buf_clear(&body);
	if (parsed != NULL)
		evhttp_uri_free(parsed);
}

static void *
admin_thread(void *arg ATTR_UNUSED)
{
	event_base_loop(admin.base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

int
admin_start(char **error_r)
{
	metric_set_collect_hook(admin_collect, NULL);
	if (admin.fd < 0)
		return 0;
	admin.base = event_base_new();
	admin.http = admin.base != NULL ? evhttp_new(admin.base) : NULL;
	if (admin.http == NULL) {
		*error_r = xstrdup("evhttp_new failed");
		return -1;
	}
	evhttp_set_allowed_methods(admin.http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
		EVHTTP_REQ_POST);
	evhttp_set_timeout(admin.http, 10);
	evhttp_set_max_headers_size(admin.http, 16384);
	evhttp_set_max_body_size(admin.http, 65536);
	evhttp_set_gencb(admin.http, admin_request, NULL);
	if (evhttp_accept_socket_with_handle(admin.http, admin.fd) == NULL) {
		*error_r = xstrdup("evhttp_accept_socket failed");
		return -1;
	}
	admin.fd = -1; /* evhttp owns it */
	if (pthread_create(&admin.thread, NULL, admin_thread, NULL) != 0) {
		*error_r = xasprintf("pthread_create: %s", strerror(errno));
		return -1;
	}
	admin.running = true;
	return 0;
}

static void
admin_break_cb(evutil_socket_t fd ATTR_UNUSED, short what ATTR_UNUSED,
	void *arg ATTR_UNUSED)
{
	event_base_loopbreak(admin.base);
}

void
admin_stop(void)
{
	metric_set_collect_hook(NULL, NULL);
	if (admin.running) {
		event_base_once(admin.base, -1, EV_TIMEOUT, admin_break_cb, NULL,
			NULL);
		pthread_join(admin.thread, NULL);
		admin.running = false;
	}
	if (admin.http != NULL)
		evhttp_free(admin.http);
	admin.http = NULL;
	if (admin.base != NULL)
		event_base_free(admin.base);
	admin.base = NULL;
	if (admin.fd >= 0)
		close(admin.fd);
	admin.fd = -1;
}
