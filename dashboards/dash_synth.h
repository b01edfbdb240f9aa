/* dash_synth.h: `postier-dash synth`: fills a node RRD with a synthetic
 * history (business-day curve) so that pages, tests and benchmarks have a
 * year of data to draw without waiting a year. Never used by collect. */
#ifndef DASH_SYNTH_H
#define DASH_SYNTH_H

#include "postier.h"

/* Creates RRD_DIR/NAME.rrd (replacing it) with the given step and `days` of
 * history ending now. Returns 0, or -1 (printed). Blocks on disk. */
int dash_synth_run(const char *rrd_dir, const char *name, long step, long days);

#endif
