/* dash_cacti.h: `postier-dash cacti URL`: one scrape printed in Cacti's
 * data input method format, one line of "field:value" pairs separated by
 * spaces (fields are the RRD data source names of dash_layout.h; counters
 * raw, for Cacti data sources of type DERIVE/COUNTER; U for unknown). */
#ifndef DASH_CACTI_H
#define DASH_CACTI_H

#include "postier.h"
#include "core/buf.h"
#include "dash_scrape.h"

/* Appends the Cacti line (with LF) for s; NULL s prints every field U. */
void dash_cacti_format(const struct dash_scrape *s, struct buf *out);

/* state_path: where the delivery histogram is kept between polls for the
 * percentiles (NULL: percentiles are U). Blocks (network). Prints the line
 * on stdout. Returns 0, or 1 when the node could not be scraped (all U
 * printed, reason on stderr). */
int dash_cacti_run(const char *url, const char *state_path,
	long long timeout_ms);

#endif
