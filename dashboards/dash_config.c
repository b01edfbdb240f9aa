/* dash_config.c: the settings table of postier-dash. */
#include "postier.h"

#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "dash_config.h"
#include "dash_layout.h"

#define F(field) CFG_FIELD(struct dash_settings, field)

const struct cfg_def dash_config_defs[] = {
	{ "dash", "rrd_dir", CFG_TYPE_STR, "/var/lib/postier-dash", 0, 0, false,
		F(rrd_dir), "directory of the RRD files, one NAME.rrd per node", NULL },
	{ "dash", "daemon", CFG_TYPE_STR, "", 0, 0, false, F(daemon),
		"rrdcached address (unix:/path or host:port); empty: write files directly",
		NULL },
	{ "collect", "step", CFG_TYPE_DURATION, "60s", 1000, 3600000, false,
		F(step_ms), "seconds between scrapes (the RRD step; whole seconds)", NULL },
	{ "collect", "timeout", CFG_TYPE_DURATION, "10s", 100, 600000, false,
		F(timeout_ms), "time allowed for one scrape", NULL },
	{ "collect", "node", CFG_TYPE_LIST, "", 0, 0, false, F(nodes),
		"NAME=URL of a node's /metrics; repeat for each node", NULL },
	{ "render", "out_dir", CFG_TYPE_STR, "/var/lib/postier-dash/html", 0, 0,
		false, F(out_dir), "where PNGs and HTML pages are written", NULL },
	{ "render", "jobs", CFG_TYPE_INT, "1", 1, 64, false, F(jobs),
		"processes drawing graphs in parallel (librrd draws one at a time)",
		NULL },
	{ "render", "width", CFG_TYPE_INT, "640", 200, 4000, false, F(width),
		"graph plot area width, pixels", NULL },
	{ "render", "height", CFG_TYPE_INT, "180", 80, 2000, false, F(height),
		"graph plot area height, pixels", NULL },
};
const size_t dash_config_def_count = N_ELEMENTS(dash_config_defs);

int
dash_config_split_node(const char *item, char **name_r, char **url_r,
	char **error_r)
{
	const char *eq = strchr(item, '=');

	if (eq == NULL || eq == item || eq[1] == '\0') {
		*error_r = xasprintf("node %s: expected NAME=URL", item);
		return -1;
	}
	char *name = xstrndup(item, (size_t)(eq - item));
	if (!dash_node_name_is_valid(name)) {
		*error_r = xasprintf("node name %s: use 1-64 of A-Z a-z 0-9 . _ - "
			"(not starting with .)", name);
		free(name);
		return -1;
	}
	if (strncmp(eq + 1, "http://", 7) != 0 &&
	    strncmp(eq + 1, "https://", 8) != 0) {
		*error_r = xasprintf("node %s: URL must start with http:// or https://",
			name);
		free(name);
		return -1;
	}
	*name_r = name;
	*url_r = xstrdup(eq + 1);
	return 0;
}
