/* dash_config.h: postier-dash settings, one table (see docs/dashboards.md).
 * Command-line options are applied on top of the file with cfg_set(). */
#ifndef DASH_CONFIG_H
#define DASH_CONFIG_H

#include <stddef.h>
#include "postier.h"
#include "core/cfg.h"

struct dash_settings {
	char *rrd_dir;         /* [dash] rrd_dir */
	char *daemon;          /* [dash] rrdcached address, NULL: direct files */
	long long step_ms;     /* [collect] step */
	long long timeout_ms;  /* [collect] timeout (per scrape) */
	struct cfg_list nodes; /* [collect] node = NAME=URL, repeated */
	char *out_dir;         /* [render] out_dir */
	long long jobs;        /* [render] jobs: processes drawing in parallel */
	long long width;       /* [render] width of the plot area, pixels */
	long long height;      /* [render] height */
	/* from the command line only, not in the table: */
	bool only_listed;      /* render: draw only the nodes given with --node */
	bool force;            /* render: redraw every graph, even fresh ones */
};

extern const struct cfg_def dash_config_defs[];
extern const size_t dash_config_def_count;

/* One "NAME=URL" node item split in place-free copies (heap, caller frees
 * both). Returns 0, or -1 with *error_r (heap) when malformed. */
int dash_config_split_node(const char *item, char **name_r, char **url_r,
	char **error_r);

#endif
