/* http.c: libcurl GET for the admin-endpoint plugins. */
#include "postier.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <curl/curl.h>

#include "core/xmalloc.h"
#include "proto/openmetrics.h"
#include "http.h"

const struct plugin_option plugin_admin_options[] = {
	{ "url", PLUGIN_ADMIN_OPT_URL, true, "URL",
		"Admin endpoint base URL instead of http://HOST:PORT "
		"(e.g. https://mx1:8443)" },
	{ "token-file", PLUGIN_ADMIN_OPT_TOKEN_FILE, true, "PATH",
		"File holding the bearer token (needed off loopback)" },
};
const size_t plugin_admin_n_options = N_ELEMENTS(plugin_admin_options);

int
plugin_admin_option(struct plugin_admin *a, int key, const char *arg)
{
	switch (key) {
	case PLUGIN_ADMIN_OPT_URL:
		a->url = arg;
		return 1;
	case PLUGIN_ADMIN_OPT_TOKEN_FILE:
		a->token_file = arg;
		return 1;
	default:
		return 0;
	}
}

void
plugin_admin_check(struct plugin *p, struct plugin_admin *a)
{
	if (a->url == NULL && p->port == 0)
		plugin_usage_error(p, "give the admin port (-p) or a URL (-u)");
	if (a->url != NULL && strncmp(a->url, "http://", 7) != 0 &&
	    strncmp(a->url, "https://", 8) != 0)
		plugin_usage_error(p, "-u must start with http:// or https://");
	if (a->token_file != NULL) {
		FILE *f = fopen(a->token_file, "r");
		if (f == NULL)
			plugin_usage_error(p, "cannot read --token-file %s: %s",
				a->token_file, strerror(errno));
		char line[1024];
		if (fgets(line, sizeof(line), f) == NULL)
			line[0] = '\0';
		fclose(f);
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0')
			plugin_usage_error(p, "--token-file %s is empty",
				a->token_file);
		a->token = xstrdup(line);
	}
}

char *
plugin_admin_url(const struct plugin *p, const struct plugin_admin *a,
	const char *path)
{
	if (a->url != NULL) {
		size_t n = strlen(a->url);
		while (n > 0 && a->url[n - 1] == '/')
			n--;
		return xasprintf("%.*s%s", (int)n, a->url, path);
	}
	const char *host = p->host != NULL ? p->host : "127.0.0.1";
	if (strchr(host, ':') != NULL) /* IPv6 literal */
		return xasprintf("http://[%s]:%d%s", host, p->port, path);
	return xasprintf("http://%s:%d%s", host, p->port, path);
}

void
plugin_admin_clear(struct plugin_admin *a)
{
	free(a->token);
	a->token = NULL;
}

static size_t
on_body(char *data, size_t size, size_t nmemb, void *context)
{
	struct plugin_http_result *r = context;
	size_t n = size * nmemb;
	if (buf_len(&r->body) + n > PLUGIN_HTTP_MAX_BODY_BYTES)
		return 0; /* curl ends the transfer with CURLE_WRITE_ERROR */
	buf_append(&r->body, data, n);
	return n;
}

int
plugin_http_get(const struct plugin *p, const char *url, const char *token,
	struct plugin_http_result *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->body);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		snprintf(r->error, sizeof(r->error), "curl_global_init failed");
		return -1;
	}
	CURL *curl = curl_easy_init();
	if (curl == NULL) {
		snprintf(r->error, sizeof(r->error), "curl_easy_init failed");
		curl_global_cleanup();
		return -1;
	}
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL;
	char *auth = NULL;
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_PROXY, "");
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)plugin_remaining_ms(p));
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "check_postier/" POSTIER_VERSION);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	if (p->family == AF_INET)
		curl_easy_setopt(curl, CURLOPT_IPRESOLVE, CURL_IPRESOLVE_V4);
	else if (p->family == AF_INET6)
		curl_easy_setopt(curl, CURLOPT_IPRESOLVE, CURL_IPRESOLVE_V6);
	if (token != NULL) {
		auth = xasprintf("Authorization: Bearer %s", token);
		headers = curl_slist_append(headers, auth);
		curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	}
	CURLcode rc = curl_easy_perform(curl);
	int ret = 0;
	if (rc != CURLE_OK) {
		if (rc == CURLE_WRITE_ERROR)
			snprintf(r->error, sizeof(r->error),
				"answer larger than %d bytes",
				PLUGIN_HTTP_MAX_BODY_BYTES);
		else
			snprintf(r->error, sizeof(r->error), "%s",
				errbuf[0] != '\0' ? errbuf :
				curl_easy_strerror(rc));
		ret = -1;
	} else {
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
	}
	curl_easy_getinfo(curl, CURLINFO_TOTAL_TIME, &r->total_s);
	curl_slist_free_all(headers);
	free(auth);
	curl_easy_cleanup(curl);
	curl_global_cleanup();
	return ret;
}

void
plugin_http_result_clear(struct plugin_http_result *r)
{
	buf_clear(&r->body);
}

struct openmetrics_doc *
plugin_admin_metrics(struct plugin *p, const struct plugin_admin *a,
	double *time_s_r)
{
	struct plugin_http_result r;
	char *url = plugin_admin_url(p, a, "/metrics");

	plugin_phase("GET /metrics");
	if (plugin_http_get(p, url, a->token, &r) < 0) {
		char *text = xasprintf("GET %s: %s", url, r.error);
		free(url);
		plugin_http_result_clear(&r);
		plugin_exit_owned(p, PLUGIN_STATE_CRITICAL, text);
	}
	if (r.status != 200) {
		char *text = xasprintf("GET %s: HTTP %ld", url, r.status);
		free(url);
		plugin_http_result_clear(&r);
		plugin_exit_owned(p, PLUGIN_STATE_CRITICAL, text);
	}
	plugin_debug(p, 2, "GET %s: HTTP %ld, %zu bytes in %.3f s", url,
		r.status, buf_len(&r.body), r.total_s);
	free(url);
	struct openmetrics_doc *doc = openmetrics_parse(buf_data(&r.body),
		buf_len(&r.body));
	*time_s_r = r.total_s;
	plugin_http_result_clear(&r);
	return doc;
}
