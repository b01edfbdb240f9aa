/* dash_csv.h: the CSV time series postier-loadgen writes next to its JSON:
 *   time_unix,offered_per_s,achieved_per_s,errors,smtp_p50_ms,smtp_p99_ms,e2e_p99_ms
 * Columns are found by their header name (order free, extra columns
 * ignored); an empty field is unknown. `errors` is the number of errors in
 * the row's interval (not cumulative). No I/O but dash_csv_load(). */
#ifndef DASH_CSV_H
#define DASH_CSV_H

#include <stddef.h>
#include "postier.h"

enum dash_csv_col {
	DASH_CSV_TIME,
	DASH_CSV_OFFERED,
	DASH_CSV_ACHIEVED,
	DASH_CSV_ERRORS,
	DASH_CSV_SMTP_P50,
	DASH_CSV_SMTP_P99,
	DASH_CSV_E2E_P99,
	DASH_CSV_COL_COUNT
};

extern const char *const dash_csv_col_names[DASH_CSV_COL_COUNT];

struct dash_csv_row {
	double v[DASH_CSV_COL_COUNT]; /* NAN: empty field */
};

struct dash_csv {
	struct dash_csv_row *rows;
	size_t count;
};

/* Parses a whole CSV text. Rows must have increasing time_unix. Returns 0,
 * or -1 with *error_r (heap, "line N: why"). On success csv owns rows
 * (dash_csv_clear()). */
int dash_csv_parse(struct dash_csv *csv, const char *text, size_t len,
	char **error_r);
/* Reads and parses a file. Blocks on disk. Returns 0 or -1 (*error_r). */
int dash_csv_load(struct dash_csv *csv, const char *path, char **error_r);
void dash_csv_clear(struct dash_csv *csv);

#endif
