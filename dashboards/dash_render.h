/* dash_render.h: `postier-dash render`: day/week/month/year PNGs of every
 * node, a page per node (OUT/NAME.html, images in OUT/NAME/) and an overview
 * (OUT/index.html). Nodes are the RRD files found in the RRD directory plus
 * the configured ones (a configured node without an RRD is shown as an
 * error). A node that cannot be drawn never stops the others. */
#ifndef DASH_RENDER_H
#define DASH_RENDER_H

#include "postier.h"
#include "dash_config.h"

/* Blocks (disk, fork when jobs > 1). Returns 0 when every node was drawn, 1
 * when some were not (each said on stderr and on the pages), -1 when
 * nothing could be done (message printed). */
int dash_render_run(const struct dash_settings *set);

#endif
