/* dash_collect.h: `postier-dash collect`: scrape every node's /metrics
 * (libcurl, all nodes in parallel) at a fixed step and store one RRD update
 * per node, directly or through rrdcached. A failed scrape is stored as
 * unknown, never as zero. */
#ifndef DASH_COLLECT_H
#define DASH_COLLECT_H

#include "postier.h"
#include "dash_config.h"

/* cycles: 0 = run until SIGTERM/SIGINT; N = stop after N cycles (--once is
 * 1). With once, the histogram of the previous run is read from and saved
 * to RRD_DIR/NAME.hist so that cron runs still give percentiles.
 * Blocks (network, disk). Returns 0 when every scrape of the last cycle
 * worked, 1 when some node failed (the others are stored), -1 when it could
 * not start (message already printed). */
int dash_collect_run(const struct dash_settings *set, long cycles, bool once);

/* Scrapes one URL now (used by `cacti`). Returns 0 and fills *body (the
 * caller's buf), or -1 with *error_r (heap). Blocks up to timeout_ms. */
int dash_collect_fetch(const char *url, long long timeout_ms, struct buf *body,
	char **error_r);

#endif
