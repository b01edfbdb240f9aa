/* dash_render.c: every node's graphs and pages. With jobs > 1 the nodes are
 * shared out among forked processes, each taking the next node left
 * (librrd draws one graph at a time per process); the overview is written
 * last by the parent. */
#include "postier.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <rrd.h>
#include <rrd_client.h>

#include "core/buf.h"
#include "core/xmalloc.h"
#include "dash_graph.h"
#include "dash_html.h"
#include "dash_layout.h"
#include "dash_render.h"

struct render_node {
	char *name;
	char *rrd_path;
	bool configured;
	char *error;      /* why it cannot be drawn, or NULL */
	time_t last_update;
	long step;        /* seconds */
};

/* Data older than this is "stale": five minutes, or two steps and a minute
 * for RRDs with a long step. */
static bool
node_is_stale(const struct render_node *n, time_t now)
{
	long limit = 2 * n->step + 60;

	if (limit < 300)
		limit = 300;
	return now - n->last_update > limit;
}

static int
node_cmp(const void *a, const void *b)
{
	return strcmp(((const struct render_node *)a)->name,
		((const struct render_node *)b)->name);
}

static void
nodes_add(struct render_node **nodes, size_t *count, const char *name,
	const char *dir, bool configured)
{
	for (size_t i = 0; i < *count; i++) {
		if (strcmp((*nodes)[i].name, name) == 0) {
			(*nodes)[i].configured |= configured;
			return;
		}
	}
	*nodes = xrealloc(*nodes, sizeof(**nodes) * (*count + 1));
	struct render_node *n = &(*nodes)[(*count)++];
	memset(n, 0, sizeof(*n));
	n->name = xstrdup(name);
	n->rrd_path = xasprintf("%s/%s.rrd", dir, name);
	n->configured = configured;
}

/* Finds the nodes. Returns 0 or -1 (printed). */
static int
nodes_find(const struct dash_settings *set, const char *dir,
	struct render_node **nodes_r, size_t *count_r)
{
	struct render_node *nodes = NULL;
	size_t count = 0;
	DIR *d = opendir(dir);

	if (d == NULL) {
		fprintf(stderr, "postier-dash: render: cannot open RRD directory %s: "
			"%s\n", dir, strerror(errno));
		return -1;
	}
	struct dirent *e;
	while (!set->only_listed && (e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		if (len <= 4 || strcmp(e->d_name + len - 4, ".rrd") != 0)
			continue;
		char *name = xstrndup(e->d_name, len - 4);
		if (dash_node_name_is_valid(name))
			nodes_add(&nodes, &count, name, dir, false);
		free(name);
	}
	closedir(d);
	for (size_t i = 0; i < set->nodes.count; i++) {
		const char *item = set->nodes.items[i];
		const char *eq = strchr(item, '=');
		char *name = eq != NULL ? xstrndup(item, (size_t)(eq - item)) :
			xstrdup(item);
		if (dash_node_name_is_valid(name))
			nodes_add(&nodes, &count, name, dir, true);
		free(name);
	}
	if (count > 1)
		qsort(nodes, count, sizeof(*nodes), node_cmp);
	*nodes_r = nodes;
	*count_r = count;
	return 0;
}

/* Sets node->error when its RRD is missing or unreadable or not ours. */
static void
node_check(struct render_node *node, const char *daemon)
{
	struct stat st;

	if (stat(node->rrd_path, &st) < 0) {
		node->error = xasprintf("no RRD file %s (%s): has collect run for "
			"this node?", node->rrd_path, strerror(errno));
		return;
	}
	if (daemon != NULL) {
		/* the last updates may still be in rrdcached */
		if (rrdc_flush_if_daemon(daemon, node->rrd_path) != 0)
			rrd_clear_error();
	}
	unsigned long ds_count;
	char **ds_names, **last;
	time_t t;
	if (rrd_lastupdate_r(node->rrd_path, &t, &ds_count, &ds_names, &last) != 0) {
		node->error = xasprintf("cannot read %s: %s", node->rrd_path,
			rrd_get_error());
		rrd_clear_error();
		return;
	}
	bool ok = ds_count == dash_layout_ds_count;
	for (unsigned long i = 0; i < ds_count; i++) {
		if (ok && strcmp(ds_names[i], dash_layout_ds[i].ds) != 0)
			ok = false;
		rrd_freemem(ds_names[i]);
		rrd_freemem(last[i]);
	}
	rrd_freemem(ds_names);
	rrd_freemem(last);
	if (!ok) {
		node->error = xasprintf("%s is not a postier-dash node RRD (other "
			"data sources)", node->rrd_path);
		return;
	}
	node->last_update = t;
	node->step = 60;
	rrd_info_t *info = rrd_info_r(node->rrd_path);
	for (rrd_info_t *i = info; i != NULL; i = i->next) {
		if (strcmp(i->key, "step") == 0 && i->type == RD_I_CNT)
			node->step = (long)i->value.u_cnt;
	}
	if (info != NULL)
		rrd_info_free(info);
	else
		rrd_clear_error();
}

/* Per-graph costs outside drawing (docs/benchmarks-dashboards.md):
 * - with TZ unset, glibc stats /etc/localtime at every localtime() and
 *   mktime(), about 90 times per graph; TZ=":/etc/localtime" names the same
 *   zone file and is read once (times on the graphs do not change);
 * - the image surface (~780 KB), the fetched data and libpng's buffers are
 *   above glibc's mmap threshold, so every graph maps and unmaps them and
 *   takes fresh page faults; a higher threshold keeps them on the heap and
 *   reuses the memory from one graph to the next. */
static void
render_tune_process(void)
{
	if (getenv("TZ") == NULL)
		setenv("TZ", ":/etc/localtime", 1);
	tzset();
	mallopt(M_MMAP_THRESHOLD, 16 * 1024 * 1024);
	mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
}

static char *
graph_png(const char *name, const struct dash_graph *g, enum dash_period p)
{
	return xasprintf("%s/%s-%s.png", name, g->id, dash_period_names[p]);
}

static void
format_time(time_t t, char *out, size_t size)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, size, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* Draws every graph of one node and writes its page. Returns the number of
 * graphs that failed. */
static int
render_node(const struct dash_settings *set, const char *out_dir,
	struct render_node *node, time_t now)
{
	/* node_check() flushed the node's file from rrdcached: the graphs read
	 * it directly. Through the daemon, every graph would flush again and
	 * fetch its data as text (rrdcached's FETCH): five times the CPU of
	 * the whole render, rrdcached's included. */
	struct dash_graph_opts o = { set->width, set->height };
	char *dir = xasprintf("%s/%s", out_dir, node->name);
	struct buf page;
	int failed = 0;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "postier-dash: render: cannot create %s: %s\n", dir,
			strerror(errno));
		free(dir);
		return 1;
	}
	free(dir);
	buf_init(&page);
	char *title = xasprintf("Postier node %s", node->name);
	dash_html_begin(&page, title);
	free(title);
	buf_append_str(&page, "<nav><a href=\"index.html\">&larr; all nodes</a>");
	for (int p = 0; p < DASH_PERIOD_COUNT; p++)
		buf_printf(&page, "<a href=\"#%s\">%s</a>", dash_period_names[p],
			dash_period_names[p]);
	buf_append_str(&page, "</nav>\n<h1>Node ");
	dash_html_escape(&page, node->name);
	buf_append_str(&page, "</h1>\n");
	if (node->error != NULL) {
		buf_append_str(&page, "<p class=\"err\">No graphs: ");
		dash_html_escape(&page, node->error);
		buf_append_str(&page, "</p>\n");
		failed = 1;
		goto write;
	}
	char when[64];
	format_time(node->last_update, when, sizeof(when));
	buf_printf(&page, "<p>Last data: %s", when);
	if (node_is_stale(node, now))
		buf_printf(&page, " <span class=\"warn\">(stale: %ld s ago)</span>",
			(long)(now - node->last_update));
	buf_append_str(&page, "</p>\n");
	for (int p = 0; p < DASH_PERIOD_COUNT; p++) {
		buf_printf(&page, "<h2 id=\"%s\">Last %s</h2>\n<div class=\"grid\">\n",
			dash_period_names[p], dash_period_names[p]);
		for (size_t i = 0; i < dash_layout_graph_count; i++) {
			const struct dash_graph *g = &dash_layout_graphs[i];
			char *rel = graph_png(node->name, g, (enum dash_period)p);
			char *png = xasprintf("%s/%s", out_dir, rel);
			char *gtitle = xasprintf("%s: %s (last %s)", node->name, g->title,
				dash_period_names[p]);
			char *error = NULL;
			bool ok = true;
			struct stat st;
			/* unchanged to the eye until a pixel's worth of time has
			 * passed: a year graph is redrawn about twice a day */
			long pixel_s = dash_period_seconds((enum dash_period)p) /
				(long)set->width;
			if (!set->force && stat(png, &st) == 0 &&
			    st.st_mtime >= node->last_update - pixel_s &&
			    now - st.st_mtime < pixel_s) {
				/* kept as it is */
			} else if (dash_graph_draw(g, node->rrd_path, gtitle,
			    (long)now - dash_period_seconds((enum dash_period)p), (long)now,
			    &o, png, &error) < 0) {
				fprintf(stderr, "postier-dash: render: node %s graph %s-%s: %s\n",
					node->name, g->id, dash_period_names[p], error);
				buf_append_str(&page, "<div class=\"card err\">");
				dash_html_escape(&page, gtitle);
				buf_append_str(&page, ": ");
				dash_html_escape(&page, error);
				buf_append_str(&page, "</div>\n");
				free(error);
				failed++;
				ok = false;
			}
			if (ok) {
				buf_append_str(&page, "<div class=\"card\"><img src=\"");
				dash_html_escape(&page, rel);
				buf_append_str(&page, "\" alt=\"");
				dash_html_escape(&page, gtitle);
				buf_append_str(&page, "\"></div>\n");
			}
			free(rel);
			free(png);
			free(gtitle);
		}
		buf_append_str(&page, "</div>\n");
	}
write:
	dash_html_end(&page);
	char *path = xasprintf("%s/%s.html", out_dir, node->name);
	if (dash_write_file(path, buf_data(&page), buf_len(&page)) < 0) {
		fprintf(stderr, "postier-dash: render: cannot write %s: %s\n", path,
			strerror(errno));
		failed++;
	}
	free(path);
	buf_clear(&page);
	return failed;
}

static int
write_overview(const char *out_dir, struct render_node *nodes, size_t count,
	const bool *node_failed, time_t now)
{
	struct buf page;
	char when[64];

	buf_init(&page);
	dash_html_begin(&page, "Postier nodes");
	buf_printf(&page, "<h1>Postier: %zu node%s</h1>\n", count,
		count == 1 ? "" : "s");
	buf_append_str(&page, "<div class=\"grid\">\n");
	for (size_t i = 0; i < count; i++) {
		struct render_node *n = &nodes[i];
		buf_append_str(&page, "<div class=\"card\"><h2><a href=\"");
		dash_html_escape(&page, n->name);
		buf_append_str(&page, ".html\">");
		dash_html_escape(&page, n->name);
		buf_append_str(&page, "</a></h2>\n");
		if (n->error != NULL) {
			buf_append_str(&page, "<p class=\"err\">");
			dash_html_escape(&page, n->error);
			buf_append_str(&page, "</p></div>\n");
			continue;
		}
		format_time(n->last_update, when, sizeof(when));
		bool stale = node_is_stale(n, now);
		buf_printf(&page, "<p>Last data: %s %s</p>\n", when,
			stale ? "<span class=\"warn\">stale</span>" :
			"<span class=\"ok\">current</span>");
		if (node_failed[i])
			buf_append_str(&page, "<p class=\"err\">some graphs could not be "
				"drawn: see the node page</p>\n");
		static const char *const overview_graphs[] = { "messages", "queue" };
		for (size_t k = 0; k < N_ELEMENTS(overview_graphs); k++) {
			char *rel = xasprintf("%s/%s-day.png", n->name, overview_graphs[k]);
			char *abs = xasprintf("%s/%s", out_dir, rel);
			struct stat st;
			if (stat(abs, &st) == 0) {
				buf_append_str(&page, "<a href=\"");
				dash_html_escape(&page, n->name);
				buf_append_str(&page, ".html\"><img src=\"");
				dash_html_escape(&page, rel);
				buf_printf(&page, "\" alt=\"%s %s, last day\"></a>\n",
					n->name, overview_graphs[k]);
			}
			free(rel);
			free(abs);
		}
		buf_append_str(&page, "</div>\n");
	}
	if (count == 0)
		buf_append_str(&page, "<p class=\"note\">No node yet: run "
			"<code>postier-dash collect</code> first.</p>\n");
	buf_append_str(&page, "</div>\n");
	dash_html_end(&page);
	char *path = xasprintf("%s/index.html", out_dir);
	int ret = dash_write_file(path, buf_data(&page), buf_len(&page));
	if (ret < 0)
		fprintf(stderr, "postier-dash: render: cannot write %s: %s\n", path,
			strerror(errno));
	free(path);
	buf_clear(&page);
	return ret;
}

/* One result of a child: node index and whether something failed. Smaller
 * than PIPE_BUF, so children's writes to one pipe never interleave. */
struct render_result {
	uint32_t node;
	uint32_t failed;
};

/* Draws the nodes in jobs forked processes. Each child takes the next node
 * not yet taken (a counter in shared memory), so the processes stay busy
 * until the end whatever each node costs (nodes without RRD cost nothing,
 * a year of data more than a day), and reports every node it finished
 * through a pipe. A node no child reported (a child died) counts as failed.
 * Sets failed[i]. Returns 0, or -1 when nothing could be started (printed). */
static int
render_in_children(const struct dash_settings *set, const char *out_dir,
	struct render_node *nodes, size_t count, time_t now, long jobs,
	bool *failed)
{
	atomic_size_t *next = mmap(NULL, sizeof(*next), PROT_READ | PROT_WRITE,
		MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int fds[2];

	if (next == MAP_FAILED) {
		fprintf(stderr, "postier-dash: render: mmap: %s\n", strerror(errno));
		return -1;
	}
	atomic_init(next, 0);
	if (pipe(fds) < 0) {
		fprintf(stderr, "postier-dash: render: pipe: %s\n", strerror(errno));
		munmap(next, sizeof(*next));
		return -1;
	}
	fflush(NULL);
	pid_t *pids = xcalloc((size_t)jobs, sizeof(pid_t));
	for (long k = 0; k < jobs; k++) {
		pids[k] = fork();
		if (pids[k] < 0) {
			fprintf(stderr, "postier-dash: render: fork: %s\n",
				strerror(errno));
			pids[k] = 0;
			continue;
		}
		if (pids[k] == 0) {
			close(fds[0]);
			size_t i;
			while ((i = atomic_fetch_add(next, 1)) < count) {
				struct render_result r = { (uint32_t)i,
					render_node(set, out_dir, &nodes[i], now) > 0 };
				if (write(fds[1], &r, sizeof(r)) != (ssize_t)sizeof(r))
					_exit(2);
			}
			_exit(0);
		}
	}
	close(fds[1]);
	bool *done = xcalloc(count, sizeof(bool));
	struct render_result r;
	while (read(fds[0], &r, sizeof(r)) == (ssize_t)sizeof(r)) {
		if (r.node < count) {
			done[r.node] = true;
			failed[r.node] = r.failed != 0;
		}
	}
	close(fds[0]);
	/* how a child ended does not matter: what it did not report failed */
	for (long k = 0; k < jobs; k++) {
		if (pids[k] > 0)
			waitpid(pids[k], NULL, 0);
	}
	for (size_t i = 0; i < count; i++) {
		if (!done[i])
			failed[i] = true;
	}
	free(done);
	free(pids);
	munmap(next, sizeof(*next));
	return 0;
}

int
dash_render_run(const struct dash_settings *set)
{
	char rrd_dir[PATH_MAX], out_dir[PATH_MAX];
	struct render_node *nodes = NULL;
	size_t count = 0;
	int ret = -1;

	if (realpath(set->rrd_dir, rrd_dir) == NULL) {
		fprintf(stderr, "postier-dash: render: RRD directory %s: %s\n",
			set->rrd_dir, strerror(errno));
		return -1;
	}
	if (mkdir(set->out_dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "postier-dash: render: cannot create %s: %s\n",
			set->out_dir, strerror(errno));
		return -1;
	}
	if (realpath(set->out_dir, out_dir) == NULL) {
		fprintf(stderr, "postier-dash: render: %s: %s\n", set->out_dir,
			strerror(errno));
		return -1;
	}
	if (nodes_find(set, rrd_dir, &nodes, &count) < 0)
		return -1;
	render_tune_process();
	time_t now = time(NULL);
	for (size_t i = 0; i < count; i++) {
		node_check(&nodes[i], set->daemon);
		if (nodes[i].error != NULL)
			fprintf(stderr, "postier-dash: render: node %s: %s\n",
				nodes[i].name, nodes[i].error);
	}

	/* librrd keeps one rrdcached connection per process: children must not
	 * share the parent's (their requests would interleave on one socket) */
	if (set->daemon != NULL)
		rrdc_disconnect();
	bool *failed = xcalloc(count > 0 ? count : 1, sizeof(bool));
	long jobs = set->jobs < 1 ? 1 : (long)set->jobs;
	if ((size_t)jobs > count)
		jobs = count > 0 ? (long)count : 1;
	if (jobs == 1) {
		for (size_t i = 0; i < count; i++)
			failed[i] = render_node(set, out_dir, &nodes[i], now) > 0;
	} else if (render_in_children(set, out_dir, nodes, count, now, jobs,
	    failed) < 0) {
		goto out;
	}
	ret = 0;
	for (size_t i = 0; i < count; i++) {
		if (failed[i] || nodes[i].error != NULL)
			ret = 1;
	}
	if (write_overview(out_dir, nodes, count, failed, now) < 0)
		ret = 1;
out:
	free(failed);
	for (size_t i = 0; i < count; i++) {
		free(nodes[i].name);
		free(nodes[i].rrd_path);
		free(nodes[i].error);
	}
	free(nodes);
	return ret;
}
