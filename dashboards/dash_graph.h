/* dash_graph.h: draws one struct dash_graph (dash_layout.h) from one RRD into
 * a PNG with librrd. rrd_graph is not thread-safe: call from one thread per
 * process (render runs several processes for parallelism). */
#ifndef DASH_GRAPH_H
#define DASH_GRAPH_H

#include "postier.h"
#include "dash_layout.h"

struct dash_graph_opts {
	long width, height;  /* plot area, pixels */
	const char *daemon;  /* rrdcached address (flushes before drawing), or NULL */
};

/* title: the full title line. Returns 0, or -1 with *error_r (heap). Blocks
 * on disk (and rrdcached). */
int dash_graph_draw(const struct dash_graph *g, const char *rrd_path,
	const char *title, long start, long end,
	const struct dash_graph_opts *o, const char *png_path, char **error_r);

#endif
