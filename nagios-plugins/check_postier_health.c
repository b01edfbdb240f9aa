/* check_postier_health: GET /health on postierd's admin endpoint.
 * 200 {"status":"ok"} is OK, 503 {"status":"fail","reason":...} CRITICAL
 * with the reason; -w/-c apply to the response time in seconds. */
#include "postier.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "http.h"
#include "json_lite.h"
#include "plugin.h"

struct health {
	struct plugin_admin admin;
};

static int
on_option(struct plugin *p, int key, const char *arg, void *context)
{
	struct health *h = context;
	(void)p;
	return plugin_admin_option(&h->admin, key, arg) == 1 ? 0 : -1;
}

static void
cleanup(void *context)
{
	struct health *h = context;
	plugin_admin_clear(&h->admin);
}

int
main(int argc, char **argv)
{
	struct plugin p;
	struct health h;

	memset(&h, 0, sizeof(h));
	plugin_init(&p, "check_postier_health", "POSTIER_HEALTH");
	p.usage = "(-p ADMIN_PORT [-H HOST] | -u URL) [--token-file PATH] "
		"[-w SECONDS] [-c SECONDS]";
	p.blurb = "Asks postierd's admin endpoint GET /health: OK when it "
		"answers 200 with status \"ok\",\nCRITICAL with the server's "
		"reason when it answers 503 or does not answer.\n-w/-c are "
		"ranges for the response time in seconds.";
	p.cleanup = cleanup;
	p.cleanup_context = &h;
	plugin_parse_args(&p, argc, argv,
		PLUGIN_COMMON_HOST | PLUGIN_COMMON_THRESHOLDS,
		plugin_admin_options, plugin_admin_n_options, on_option, &h);
	plugin_admin_check(&p, &h.admin);
	plugin_start_timer(&p);

	char *url = plugin_admin_url(&p, &h.admin, "/health");
	struct plugin_http_result r;
	plugin_phase("GET /health");
	if (plugin_http_get(&p, url, h.admin.token, &r) < 0) {
		char *text = xasprintf("GET %s: %s", url, r.error);
		free(url);
		plugin_http_result_clear(&r);
		plugin_exit_owned(&p, PLUGIN_STATE_CRITICAL, text);
	}
	plugin_debug(&p, 2, "GET %s: HTTP %ld in %.3f s: %s", url, r.status,
		r.total_s, buf_data(&r.body));
	char *status = NULL, *reason = NULL;
	int got_status = jsonl_get(buf_data(&r.body), buf_len(&r.body),
		"status", &status);
	if (got_status == 1)
		(void)jsonl_get(buf_data(&r.body), buf_len(&r.body), "reason",
			&reason);
	enum plugin_state time_state = plugin_perf_add(&p, "time", r.total_s,
		"s", &p.threshold, 0, NAN);

	enum plugin_state state;
	char *text;
	if (r.status == 200 && got_status == 1 && strcmp(status, "ok") == 0) {
		state = time_state;
		text = xasprintf("postierd healthy, answered in %.3f s",
			r.total_s);
	} else if (r.status == 503 || (got_status == 1 &&
	    strcmp(status, "fail") == 0)) {
		state = PLUGIN_STATE_CRITICAL;
		text = xasprintf("postierd unhealthy: %s (HTTP %ld)",
			reason != NULL ? reason : "no reason given", r.status);
	} else if (got_status != 1) {
		state = PLUGIN_STATE_CRITICAL;
		text = xasprintf("unexpected answer from %s: HTTP %ld, %s", url,
			r.status, got_status < 0 ? "body is not a JSON object" :
			"no \"status\" in the body");
	} else {
		state = PLUGIN_STATE_CRITICAL;
		text = xasprintf("postierd status \"%s\" (HTTP %ld)%s%s",
			status, r.status, reason != NULL ? ": " : "",
			reason != NULL ? reason : "");
	}
	free(status);
	free(reason);
	free(url);
	plugin_http_result_clear(&r);
	plugin_exit_owned(&p, state, text);
}
