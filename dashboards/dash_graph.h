/* dash_graph.h: draws one struct dash_graph (dash_layout.h) from one RRD into
 * a PNG with librrd. rrd_graph is not thread-safe: call from one thread per
 * process (render runs several processes for parallelism). */
#ifndef DASH_GRAPH_H
#define DASH_GRAPH_H

#include "postier.h"
#include "dash_layout.h"

struct dash_graph_opts {
	long width, height;  /* plot area, pixels */
};

/* title: the full title line. Reads rrd_path itself, never through
 * rrdcached: flush the file first (rrdc_flush_if_daemon) when updates go
 * through the daemon. Returns 0, or -1 with *error_r (heap). Blocks on
 * disk. */
int dash_graph_draw(const struct dash_graph *g, const char *rrd_path,
	const char *title, long start, long end,
	const struct dash_graph_opts *o, const char *png_path, char **error_r);

#endif
