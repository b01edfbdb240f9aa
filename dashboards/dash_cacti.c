/* dash_cacti.c: Cacti script data input output. */
#include "postier.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/xmalloc.h"
#include "dash_cacti.h"
#include "dash_collect.h"
#include "dash_layout.h"

void
dash_cacti_format(const struct dash_scrape *s, struct buf *out)
{
	for (size_t i = 0; i < dash_layout_ds_count; i++) {
		double v = s != NULL ? s->value[i] : NAN;
		if (i > 0)
			buf_append_char(out, ' ');
		if (isnan(v) || isinf(v))
			buf_printf(out, "%s:U", dash_layout_ds[i].ds);
		else
			buf_printf(out, "%s:%.17g", dash_layout_ds[i].ds, v);
	}
	buf_append_char(out, '\n');
}

int
dash_cacti_run(const char *url, const char *state_path, long long timeout_ms)
{
	struct buf body, line;
	struct dash_scrape cur, prev;
	char *error = NULL;
	int ret = 0;

	buf_init(&body);
	buf_init(&line);
	dash_scrape_init(&cur);
	if (dash_collect_fetch(url, timeout_ms, &body, &error) < 0 ||
	    dash_scrape_parse(&cur, buf_data(&body), buf_len(&body), &error) < 0) {
		fprintf(stderr, "postier-dash: cacti: %s: %s\n", url, error);
		free(error);
		dash_cacti_format(NULL, &line);
		if (state_path != NULL)
			unlink(state_path);
		ret = 1;
	} else {
		bool have_prev = false;
		if (state_path != NULL) {
			dash_scrape_init(&prev);
			have_prev = dash_scrape_load_buckets(&prev, state_path) == 0;
		}
		dash_scrape_quantiles(&cur, have_prev ? &prev : NULL);
		if (state_path != NULL && dash_scrape_save_buckets(&cur, state_path) < 0)
			fprintf(stderr, "postier-dash: cacti: cannot write %s\n",
				state_path);
		dash_cacti_format(&cur, &line);
	}
	fwrite(buf_data(&line), 1, buf_len(&line), stdout);
	fflush(stdout);
	buf_clear(&body);
	buf_clear(&line);
	return ret;
}
