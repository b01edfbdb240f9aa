/* dash_csv.c: RFC 4180-ish, numbers only: no quoting needed (a quoted field
 * is malformed). Lines end in LF or CRLF; blank lines are skipped. */
#include "postier.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/xmalloc.h"
#include "dash_csv.h"

const char *const dash_csv_col_names[DASH_CSV_COL_COUNT] = {
	"time_unix", "offered_per_s", "achieved_per_s", "errors",
	"smtp_p50_ms", "smtp_p99_ms", "e2e_p99_ms",
};

#define DASH_CSV_MAX_COLS 64
#define DASH_CSV_MAX_ROWS 10000000

/* Splits line (modified in place) at commas. Returns the field count. */
static size_t
split(char *line, char **fields, size_t max)
{
	size_t n = 0;

	for (;;) {
		if (n == max)
			return max + 1;
		fields[n++] = line;
		char *comma = strchr(line, ',');
		if (comma == NULL)
			return n;
		*comma = '\0';
		line = comma + 1;
	}
}

static char *
trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
	    s[len - 1] == '\r'))
		s[--len] = '\0';
	return s;
}

int
dash_csv_parse(struct dash_csv *csv, const char *text, size_t len,
	char **error_r)
{
	int map[DASH_CSV_COL_COUNT];
	char *fields[DASH_CSV_MAX_COLS + 1];
	size_t header_cols = 0, cap = 0;
	unsigned line_no = 0;
	char *copy = xstrndup(text, len);
	char *p = copy;
	bool header = false;

	memset(csv, 0, sizeof(*csv));
	if (strlen(copy) != len) {
		*error_r = xstrdup("NUL byte in CSV");
		goto fail;
	}
	while (*p != '\0') {
		char *nl = strchr(p, '\n');
		char *line = p;
		if (nl != NULL) {
			*nl = '\0';
			p = nl + 1;
		} else {
			p += strlen(p);
		}
		line_no++;
		line = trim(line);
		if (*line == '\0')
			continue;
		size_t n = split(line, fields, DASH_CSV_MAX_COLS);
		if (n > DASH_CSV_MAX_COLS) {
			*error_r = xasprintf("line %u: more than %d columns", line_no,
				DASH_CSV_MAX_COLS);
			goto fail;
		}
		if (!header) {
			for (int c = 0; c < DASH_CSV_COL_COUNT; c++) {
				map[c] = -1;
				for (size_t k = 0; k < n; k++) {
					if (strcmp(trim(fields[k]), dash_csv_col_names[c]) == 0)
						map[c] = (int)k;
				}
			}
			if (map[DASH_CSV_TIME] < 0) {
				*error_r = xasprintf("line %u: header has no time_unix column",
					line_no);
				goto fail;
			}
			header_cols = n;
			header = true;
			continue;
		}
		if (n != header_cols) {
			*error_r = xasprintf("line %u: %zu fields, the header has %zu",
				line_no, n, header_cols);
			goto fail;
		}
		if (csv->count == DASH_CSV_MAX_ROWS) {
			*error_r = xasprintf("line %u: more than %d rows", line_no,
				DASH_CSV_MAX_ROWS);
			goto fail;
		}
		if (csv->count == cap) {
			cap = cap == 0 ? 256 : cap * 2;
			csv->rows = xrealloc(csv->rows, cap * sizeof(*csv->rows));
		}
		struct dash_csv_row *row = &csv->rows[csv->count];
		for (int c = 0; c < DASH_CSV_COL_COUNT; c++) {
			row->v[c] = NAN;
			if (map[c] < 0)
				continue;
			char *f = trim(fields[map[c]]), *end;
			if (*f == '\0')
				continue;
			errno = 0;
			double v = strtod(f, &end);
			if (errno != 0 || *end != '\0' || !isfinite(v)) {
				*error_r = xasprintf("line %u: %s: not a number: %.40s",
					line_no, dash_csv_col_names[c], f);
				goto fail;
			}
			row->v[c] = v;
		}
		if (isnan(row->v[DASH_CSV_TIME])) {
			*error_r = xasprintf("line %u: empty time_unix", line_no);
			goto fail;
		}
		if (csv->count > 0 && row->v[DASH_CSV_TIME] <=
		    csv->rows[csv->count - 1].v[DASH_CSV_TIME]) {
			*error_r = xasprintf("line %u: time_unix does not increase",
				line_no);
			goto fail;
		}
		csv->count++;
	}
	if (!header) {
		*error_r = xstrdup("empty CSV (no header)");
		goto fail;
	}
	free(copy);
	return 0;
fail:
	free(copy);
	dash_csv_clear(csv);
	return -1;
}

int
dash_csv_load(struct dash_csv *csv, const char *path, char **error_r)
{
	FILE *f = fopen(path, "r");
	struct buf b;
	char chunk[65536];
	size_t n;

	memset(csv, 0, sizeof(*csv));
	if (f == NULL) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	bool bad = ferror(f) != 0;
	fclose(f);
	if (bad) {
		*error_r = xasprintf("%s: read error", path);
		buf_clear(&b);
		return -1;
	}
	char *err = NULL;
	int ret = dash_csv_parse(csv, buf_data(&b), buf_len(&b), &err);
	if (ret < 0) {
		*error_r = xasprintf("%s: %s", path, err);
		free(err);
	}
	buf_clear(&b);
	return ret;
}

void
dash_csv_clear(struct dash_csv *csv)
{
	free(csv->rows);
	csv->rows = NULL;
	csv->count = 0;
}
