/* dash_layout.h: what postier-dash stores and draws for one node.
 *
 * One RRD file per node (RRD_DIR/NAME.rrd) holds every data source: counters
 * as DERIVE (min 0, so a server restart gives one unknown interval, never a
 * negative or a huge spike), gauges as GAUGE, delivery latency percentiles as
 * GAUGE computed by the collector from histogram bucket deltas. The graphs
 * are a table too; render walks it. Deliberately not here: the HTML. */
#ifndef DASH_LAYOUT_H
#define DASH_LAYOUT_H

#include <stddef.h>
#include "postier.h"
#include "core/buf.h"

enum dash_src_kind {
	DASH_SRC_COUNTER,  /* a _total sample; RRD DERIVE -> per-second rate */
	DASH_SRC_GAUGE,    /* stored as is */
	DASH_SRC_QUANTILE, /* histogram quantile over the last interval */
};

struct dash_ds {
	const char *ds;     /* RRD data source name (<= 19 chars) */
	enum dash_src_kind kind;
	const char *metric; /* sample name in /metrics (histogram: its base name) */
	const char *label;  /* required label as key=value without quotes, or NULL */
	double quantile;    /* DASH_SRC_QUANTILE: 0.5, 0.9, 0.99 */
};

/* The data sources, in RRD order. */
extern const struct dash_ds dash_layout_ds[];
extern const size_t dash_layout_ds_count;

/* Placeholder: the HA agent will export it (0 init, 1 backup, 2 master,
 * 3 fault, 4 maintenance); until then the HA graph draws "no data". */
#define DASH_HA_STATE_METRIC "postier_ha_state"

/* The histogram whose deltas give the latency percentiles. */
#define DASH_DELIVERY_HIST "postier_delivery_seconds"

enum dash_period {
	DASH_PERIOD_DAY,
	DASH_PERIOD_WEEK,
	DASH_PERIOD_MONTH,
	DASH_PERIOD_YEAR,
	DASH_PERIOD_COUNT
};

extern const char *const dash_period_names[DASH_PERIOD_COUNT];
/* Seconds covered by a graph of this period. */
long dash_period_seconds(enum dash_period p);

#define DASH_MAX_SERIES 8

struct dash_series {
	const char *vname;  /* graph variable name */
	const char *ds;     /* DEF from this DS, or NULL when rpn is set */
	const char *rpn;    /* CDEF expression over earlier vnames, or NULL */
	const char *draw;   /* "LINE2", "AREA", "STACK" ("" = compute only) */
	const char *color;  /* "#rrggbb" */
	const char *legend; /* legend text; NULL: no legend line */
	const char *fmt;    /* GPRINT number format, e.g. "%6.1lf%s" */
};

struct dash_graph {
	const char *id;      /* file name part: NAME/<id>-<period>.png */
	const char *title;
	const char *vlabel;  /* unit on the vertical axis */
	const char *extra[10]; /* extra rrd_graph options, NULL-terminated */
	struct dash_series series[DASH_MAX_SERIES];
};

extern const struct dash_graph dash_layout_graphs[];
extern const size_t dash_layout_graph_count;

/* Appends the RRD creation arguments ("DS:..." then "RRA:...") for the
 * given step (seconds) to *argv_r (heap strings; free with
 * dash_layout_free_args()). Returns the argument count. RRAs keep one
 * day at full resolution, a week at 5 min, a month at 30 min, a year at
 * 6 h, each in AVERAGE and MAX. */
int dash_layout_create_args(long step, char ***argv_r);
void dash_layout_free_args(char **argv, int argc);

/* True when name is usable as a node name (file names, URLs, HTML):
 * 1-64 chars of [A-Za-z0-9._-], not starting with '.' */
bool dash_node_name_is_valid(const char *name);

#endif
