/* dash_collect.c: the scrape loop. One thread: a curl multi handle fetches
 * every node at once, then each body is parsed and written as one RRD update.
 * Not here: any HTTP server side, graphs. */
#include "postier.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <curl/curl.h>
#include <rrd.h>
#include <rrd_client.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "dash_collect.h"
#include "dash_layout.h"
#include "dash_scrape.h"

#define DASH_MAX_BODY_BYTES (16 * 1024 * 1024)

struct dash_node {
	char *name;
	char *url;
	char *rrd_path;
	char *hist_path;
	CURL *easy;
	struct buf body;
	bool too_big;
	double done_time; /* Unix time the transfer finished */
	char errbuf[CURL_ERROR_SIZE];
	struct dash_scrape prev;
	bool have_prev;
	bool ok;
};

static volatile sig_atomic_t dash_stop;

static void
on_signal(int sig ATTR_UNUSED)
{
	dash_stop = 1;
}

static double
now_unix(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

static size_t
on_body(char *data, size_t size, size_t n, void *context)
{
	struct dash_node *node = context;

	if (buf_len(&node->body) + size * n > DASH_MAX_BODY_BYTES) {
		node->too_big = true;
		return 0;
	}
	buf_append(&node->body, data, size * n);
	return size * n;
}

static CURL *
easy_new(const char *url, long long timeout_ms, struct dash_node *node)
{
	CURL *c = curl_easy_init();

	if (c == NULL)
		log_panic("curl_easy_init failed");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "postier-dash/" POSTIER_VERSION);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, node);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, node->errbuf);
	curl_easy_setopt(c, CURLOPT_PRIVATE, node);
	return c;
}

/* Checks the HTTP outcome of a finished transfer. Returns 0 or -1 with
 * *error_r (heap). */
static int
transfer_result(CURL *c, CURLcode code, const char *errbuf, bool too_big,
	char **error_r)
{
	long status = 0;

	if (too_big) {
		*error_r = xasprintf("body larger than %d bytes", DASH_MAX_BODY_BYTES);
		return -1;
	}
	if (code != CURLE_OK) {
		*error_r = xstrdup(errbuf[0] != '\0' ? errbuf : curl_easy_strerror(code));
		return -1;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		*error_r = xasprintf("HTTP status %ld", status);
		return -1;
	}
	return 0;
}

int
dash_collect_fetch(const char *url, long long timeout_ms, struct buf *body,
	char **error_r)
{
	struct dash_node node;

	memset(&node, 0, sizeof(node));
	buf_init(&node.body);
	CURL *c = easy_new(url, timeout_ms, &node);
	CURLcode code = curl_easy_perform(c);
	int ret = transfer_result(c, code, node.errbuf, node.too_big, error_r);
	curl_easy_cleanup(c);
	if (ret == 0)
		buf_append(body, buf_data(&node.body), buf_len(&node.body));
	buf_clear(&node.body);
	return ret;
}

static int
ensure_dir(const char *path)
{
	if (mkdir(path, 0755) == 0 || errno == EEXIST)
		return 0;
	fprintf(stderr, "postier-dash: cannot create %s: %s\n", path,
		strerror(errno));
	return -1;
}

/* Creates the node's RRD unless it exists. Returns 0 or -1 (logged). */
static int
ensure_rrd(const struct dash_node *node, long step)
{
	struct stat st;
	char **argv;
	int argc;

	if (stat(node->rrd_path, &st) == 0)
		return 0;
	argc = dash_layout_create_args(step, &argv);
	/* start one step back so that the first scrape is a valid update */
	int ret = rrd_create_r(node->rrd_path, (unsigned long)step,
		time(NULL) - step, argc, (const char **)argv);
	dash_layout_free_args(argv, argc);
	if (ret != 0) {
		log_error("dash.create_failed", "node=%s path=%s error=%s",
			node->name, log_quote(node->rrd_path), log_quote(rrd_get_error()));
		rrd_clear_error();
		return -1;
	}
	log_info("dash.created", "node=%s path=%s step=%ld", node->name,
		log_quote(node->rrd_path), step);
	return 0;
}

static int
store(const struct dash_settings *set, struct dash_node *node, const char *upd)
{
	const char *argv[] = { upd };
	int ret;

	if (set->daemon != NULL)
		ret = rrdc_update(node->rrd_path, 1, argv);
	else
		ret = rrd_update_r(node->rrd_path, NULL, 1, argv);
	if (ret != 0) {
		log_error("dash.update_failed", "node=%s error=%s", node->name,
			log_quote(rrd_get_error()));
		rrd_clear_error();
		return -1;
	}
	return 0;
}

/* Parses a finished node's body and stores it; on failure stores unknown. */
static void
node_finish(const struct dash_settings *set, struct dash_node *node,
	CURLcode code, bool once)
{
	struct dash_scrape cur;
	struct buf upd;
	char *error = NULL;

	buf_init(&upd);
	node->ok = transfer_result(node->easy, code, node->errbuf, node->too_big,
		&error) == 0;
	if (node->ok) {
		dash_scrape_init(&cur);
		if (dash_scrape_parse(&cur, buf_data(&node->body),
		    buf_len(&node->body), &error) < 0) {
			node->ok = false;
		}
	}
	if (!node->ok) {
		log_warn("dash.scrape_failed", "node=%s url=%s error=%s", node->name,
			log_quote(node->url), log_quote(error));
		free(error);
		dash_scrape_format_unknown(node->done_time, &upd);
		(void)store(set, node, buf_data(&upd));
		/* a restart may hide behind the gap: no percentile across it */
		node->have_prev = false;
		if (once)
			unlink(node->hist_path);
		buf_clear(&upd);
		return;
	}
	if (once && !node->have_prev) {
		dash_scrape_init(&node->prev);
		node->have_prev = dash_scrape_load_buckets(&node->prev,
			node->hist_path) == 0;
	}
	dash_scrape_quantiles(&cur, node->have_prev ? &node->prev : NULL);
	dash_scrape_format_update(&cur, node->done_time, &upd);
	if (store(set, node, buf_data(&upd)) < 0)
		node->ok = false;
	node->prev = cur;
	node->have_prev = true;
	if (once && dash_scrape_save_buckets(&cur, node->hist_path) < 0)
		log_warn("dash.state_failed", "node=%s path=%s", node->name,
			log_quote(node->hist_path));
	buf_clear(&upd);
}

/* One cycle: every node fetched at once, then stored. Returns the number of
 * nodes that failed. */
static int
collect_cycle(const struct dash_settings *set, CURLM *multi,
	struct dash_node *nodes, size_t count, bool once)
{
	int running = 0, failed = 0;

	for (size_t i = 0; i < count; i++) {
		buf_reset(&nodes[i].body);
		nodes[i].too_big = false;
		nodes[i].errbuf[0] = '\0';
		nodes[i].done_time = 0;
		curl_multi_add_handle(multi, nodes[i].easy);
	}
	do {
		CURLMcode mc = curl_multi_perform(multi, &running);
		if (mc == CURLM_OK && running > 0)
			mc = curl_multi_poll(multi, NULL, 0, 1000, NULL);
		if (mc != CURLM_OK)
			log_panic("curl_multi: %s", curl_multi_strerror(mc));
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			struct dash_node *node;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
				(char **)&node);
			node->done_time = now_unix();
			CURLcode code = msg->data.result;
			curl_multi_remove_handle(multi, node->easy);
			node_finish(set, node, code, once);
			if (!node->ok)
				failed++;
		}
	} while (running > 0);
	return failed;
}

static void
sleep_until(double t)
{
	while (!dash_stop) {
		double left = t - now_unix();
		if (left <= 0)
			return;
		struct timespec ts = { .tv_sec = (time_t)left,
			.tv_nsec = (long)((left - (double)(time_t)left) * 1e9) };
		nanosleep(&ts, NULL);
	}
}

static void
nodes_free(struct dash_node *nodes, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		free(nodes[i].name);
		free(nodes[i].url);
		free(nodes[i].rrd_path);
		free(nodes[i].hist_path);
		if (nodes[i].easy != NULL)
			curl_easy_cleanup(nodes[i].easy);
		buf_clear(&nodes[i].body);
	}
	free(nodes);
}

int
dash_collect_run(const struct dash_settings *set, long cycles, bool once)
{
	size_t count = set->nodes.count;
	long step = (long)(set->step_ms / 1000);
	int ret = -1, failed = 0;

	if (count == 0) {
		fprintf(stderr, "postier-dash: collect: no node (use --node NAME=URL "
			"or node = NAME=URL in [collect])\n");
		return -1;
	}
	if (step < 1)
		step = 1;
	if (ensure_dir(set->rrd_dir) < 0)
		return -1;
	struct dash_node *nodes = xcalloc(count, sizeof(*nodes));
	for (size_t i = 0; i < count; i++) {
		char *error;
		if (dash_config_split_node(set->nodes.items[i], &nodes[i].name,
		    &nodes[i].url, &error) < 0) {
			fprintf(stderr, "postier-dash: %s\n", error);
			free(error);
			nodes_free(nodes, count);
			return -1;
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(nodes[j].name, nodes[i].name) == 0) {
				fprintf(stderr, "postier-dash: node %s given twice\n",
					nodes[i].name);
				nodes_free(nodes, count);
				return -1;
			}
		}
		nodes[i].rrd_path = xasprintf("%s/%s.rrd", set->rrd_dir, nodes[i].name);
		nodes[i].hist_path = xasprintf("%s/%s.hist", set->rrd_dir,
			nodes[i].name);
		buf_init(&nodes[i].body);
		nodes[i].easy = easy_new(nodes[i].url, set->timeout_ms, &nodes[i]);
	}
	if (set->daemon != NULL && rrdc_connect(set->daemon) != 0) {
		fprintf(stderr, "postier-dash: cannot connect to rrdcached at %s: %s\n",
			set->daemon, rrd_get_error());
		rrd_clear_error();
		nodes_free(nodes, count);
		return -1;
	}
	for (size_t i = 0; i < count; i++) {
		if (ensure_rrd(&nodes[i], step) < 0) {
			fprintf(stderr, "postier-dash: cannot create %s\n",
				nodes[i].rrd_path);
			goto out;
		}
	}

	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	dash_stop = 0;

	CURLM *multi = curl_multi_init();
	/* never more than 64 connections at once, whatever the node count */
	curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, 64L);
	log_info("dash.collect_start", "nodes=%zu step=%ld daemon=%s", count, step,
		log_quote(set->daemon != NULL ? set->daemon : ""));
	for (long n = 0; !dash_stop && (cycles == 0 || n < cycles); n++) {
		if (n > 0) {
			/* the next step boundary: scrapes line up with RRD steps */
			double now = now_unix();
			sleep_until((floor(now / (double)step) + 1) * (double)step);
			if (dash_stop)
				break;
		}
		double t0 = now_unix();
		failed = collect_cycle(set, multi, nodes, count, once);
		log_info("dash.cycle", "nodes=%zu failed=%d seconds=%.3f", count,
			failed, now_unix() - t0);
	}
	curl_multi_cleanup(multi);
	ret = failed > 0 ? 1 : 0;
out:
	if (set->daemon != NULL)
		rrdc_disconnect();
	nodes_free(nodes, count);
	return ret;
}
