/* dash_report.h: `postier-dash report RUN.json`: one page for one
 * postier-loadgen run (schema postier-loadgen-result/1): verdict, profile and
 * its assumptions, counts, latency table, SLOs, and graphs of offered vs
 * achieved rate, latency percentiles and errors over time, drawn from an RRD
 * built from the run's CSV time series (OUT/run.rrd). */
#ifndef DASH_REPORT_H
#define DASH_REPORT_H

#include "postier.h"

struct dash_report_opts {
	const char *json_path;
	const char *out_dir;  /* NULL: RUN.json without ".json" + "-report" */
	long width, height;
};

/* Blocks (disk). Returns 0 when the page and every graph were written, 1
 * when the page was written without some graphs (the CSV is missing or bad:
 * said on the page and on stderr), -1 when no page could be written (bad
 * or truncated JSON: one line on stderr). */
int dash_report_run(const struct dash_report_opts *opts);

#endif
