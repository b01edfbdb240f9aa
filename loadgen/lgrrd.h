/* lgrrd.h: the run's time series as an RRD file (librrd) for the
 * dashboards: one GAUGE per CSV column, one row per interval. */
#ifndef LOADGEN_LGRRD_H
#define LOADGEN_LGRRD_H

#include <time.h>
#include "postier.h"

#define LGRRD_COLUMNS 6

/* Creates path (replacing it) with step_s seconds, starting before start.
 * Returns 0, or -1 with *error_r (heap). Blocks on file I/O. */
int lgrrd_create(const char *path, unsigned int step_s, time_t start,
	unsigned long rows, char **error_r);
/* Adds one row at t: offered/s, achieved/s, errors, smtp p50 ms, smtp p99
 * ms, e2e p99 ms (NAN: unknown). Returns 0 or -1 (*error_r heap). */
int lgrrd_update(const char *path, time_t t,
	const double values[LGRRD_COLUMNS], char **error_r);

#endif
