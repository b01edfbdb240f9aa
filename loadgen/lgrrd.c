/* lgrrd.c: RRD output through librrd's thread-safe calls (see lgrrd.h). */
#include "postier.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rrd.h>

#include "core/buf.h"
#include "core/xmalloc.h"
#include "lgrrd.h"

static const char *const lgrrd_ds[LGRRD_COLUMNS] = {
	"offered", "achieved", "errors", "smtp_p50_ms", "smtp_p99_ms",
	"e2e_p99_ms",
};

int
lgrrd_create(const char *path, unsigned int step_s, time_t start,
	unsigned long rows, char **error_r)
{
	char ds[LGRRD_COLUMNS][80];
	char rra[64];
	const char *argv[LGRRD_COLUMNS + 1];
	for (int i = 0; i < LGRRD_COLUMNS; i++) {
		snprintf(ds[i], sizeof(ds[i]), "DS:%s:GAUGE:%u:0:U", lgrrd_ds[i],
			step_s * 3);
		argv[i] = ds[i];
	}
	snprintf(rra, sizeof(rra), "RRA:AVERAGE:0.5:1:%lu", rows < 10 ? 10 :
		rows);
	argv[LGRRD_COLUMNS] = rra;
	unlink(path);
	rrd_clear_error();
	if (rrd_create_r(path, step_s, start - 1, LGRRD_COLUMNS + 1, argv) != 0) {
		*error_r = xasprintf("rrd %s: %s", path, rrd_get_error());
		rrd_clear_error();
		return -1;
	}
	return 0;
}

int
lgrrd_update(const char *path, time_t t, const double values[LGRRD_COLUMNS],
	char **error_r)
{
	struct buf b;
	buf_init(&b);
	buf_printf(&b, "%lld", (long long)t);
	for (int i = 0; i < LGRRD_COLUMNS; i++) {
		if (isnan(values[i]))
			buf_append_str(&b, ":U");
		else
			buf_printf(&b, ":%.3f", values[i]);
	}
	const char *argv[1] = { buf_data(&b) };
	rrd_clear_error();
	int ret = rrd_update_r(path, NULL, 1, argv);
	if (ret != 0) {
		*error_r = xasprintf("rrd %s: %s", path, rrd_get_error());
		rrd_clear_error();
	}
	buf_clear(&b);
	return ret != 0 ? -1 : 0;
}
