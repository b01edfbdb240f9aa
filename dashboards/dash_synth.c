/* dash_synth.c: a plausible history: mail arrives over a 10-hour working
 * day (the documented profile's window), less at weekends, a growing trend
 * over the year, a few bursts of failed logins. HA state stays unknown, as
 * it is for real until postierd exports postier_ha_state. */
#include "postier.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <rrd.h>

#include "core/buf.h"
#include "core/xmalloc.h"
#include "dash_layout.h"
#include "dash_scrape.h"
#include "dash_synth.h"

static int
ds_index(const char *name)
{
	for (size_t i = 0; i < dash_layout_ds_count; i++) {
		if (strcmp(dash_layout_ds[i].ds, name) == 0)
			return (int)i;
	}
	PASSERT(!"unknown data source");
	return -1;
}

/* messages/s at Unix time t: 0 at night, a hump over 08:00-18:00 UTC */
static double
day_rate(time_t t, double trend)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	double h = tm.tm_hour + tm.tm_min / 60.0;
	double base = 0.5;
	if (h >= 8 && h < 18)
		base += 27.0 * sin((h - 8) / 10.0 * M_PI);
	if (tm.tm_wday == 0 || tm.tm_wday == 6)
		base *= 0.15;
	/* deterministic wiggle so that lines are not too smooth */
	base *= 1.0 + 0.08 * sin((double)t / 977.0) + 0.05 * sin((double)t / 131.0);
	return base * trend;
}

int
dash_synth_run(const char *rrd_dir, const char *name, long step, long days)
{
	char *path = xasprintf("%s/%s.rrd", rrd_dir, name);
	time_t end = time(NULL) / step * step;
	time_t start = end - days * 86400;
	char **argv;
	int argc = dash_layout_create_args(step, &argv);
	int ret = -1;

	unlink(path);
	if (rrd_create_r(path, (unsigned long)step, start - step, argc,
	    (const char **)argv) != 0) {
		fprintf(stderr, "postier-dash: synth: %s: %s\n", path, rrd_get_error());
		rrd_clear_error();
		dash_layout_free_args(argv, argc);
		free(path);
		return -1;
	}
	dash_layout_free_args(argv, argc);

	double counters[DASH_MAX_DS] = { 0 };
	struct dash_scrape s;
	enum { BATCH = 256 };
	struct buf lines[BATCH];
	const char *uv[BATCH];
	int nb = 0;
	for (int i = 0; i < BATCH; i++)
		buf_init(&lines[i]);
	int i_in = ds_index("msgs_in"), i_out = ds_index("delivered");
	int i_bin = ds_index("bytes_in"), i_bout = ds_index("bytes_out");
	int i_q = ds_index("queue"), i_age = ds_index("queue_age");
	int i_ss = ds_index("sess_smtp"), i_sp = ds_index("sess_pop3");
	int i_si = ds_index("sess_imap");
	int i_fs = ds_index("authf_smtp"), i_fp = ds_index("authf_pop3");
	int i_fi = ds_index("authf_imap");
	int i_cs = ds_index("conn_smtp"), i_cp = ds_index("conn_pop3");
	int i_ci = ds_index("conn_imap"), i_ts = ds_index("tls_smtp");
	int i_tp = ds_index("tls_pop3"), i_ti = ds_index("tls_imap");
	int i_p50 = ds_index("deliv_p50"), i_p90 = ds_index("deliv_p90");
	int i_p99 = ds_index("deliv_p99");

	for (time_t t = start; t <= end; t += step) {
		double trend = 0.7 + 0.3 * (double)(t - start) / (double)(end - start + 1);
		double r = day_rate(t, trend);
		dash_scrape_init(&s);
		counters[i_in] += r * (double)step;
		counters[i_out] += r * 1.3 * (double)step; /* 1.3 recipients */
		counters[i_bin] += r * 140e3 * (double)step;
		counters[i_bout] += r * 1.3 * 140e3 * (double)step;
		counters[i_cs] += r * 0.9 * (double)step;
		counters[i_ts] += r * 0.9 * 0.6 * (double)step;
		counters[i_cp] += r * 0.5 * (double)step;
		counters[i_tp] += r * 0.5 * 0.95 * (double)step;
		counters[i_ci] += r * 1.2 * (double)step;
		counters[i_ti] += r * 1.2 * (double)step;
		bool attack = (t / 3600) % 53 == 0;
		counters[i_fs] += (attack ? 2.0 : 0.01) * (double)step;
		counters[i_fp] += 0.02 * (double)step;
		counters[i_fi] += (attack ? 0.5 : 0.03) * (double)step;
		for (int k = 0; k < DASH_MAX_DS; k++) {
			if (counters[k] > 0)
				s.value[k] = floor(counters[k]);
		}
		s.value[i_q] = floor(r * 2.5 + 3);
		s.value[i_age] = 2 + r * 1.5;
		s.value[i_ss] = floor(r * 1.8);
		s.value[i_sp] = floor(r * 4);
		s.value[i_si] = floor(300 * trend + r * 20);
		s.value[i_p50] = 0.004 + r * 0.0004;
		s.value[i_p90] = 0.009 + r * 0.0012;
		s.value[i_p99] = 0.020 + r * 0.004;
		buf_reset(&lines[nb]);
		dash_scrape_format_update(&s, (double)t, &lines[nb]);
		uv[nb] = buf_data(&lines[nb]);
		nb++;
		if (nb == BATCH || t + step > end) {
			if (rrd_update_r(path, NULL, nb, uv) != 0) {
				fprintf(stderr, "postier-dash: synth: %s: %s\n", path,
					rrd_get_error());
				rrd_clear_error();
				goto out;
			}
			nb = 0;
		}
	}
	ret = 0;
out:
	for (int i = 0; i < BATCH; i++)
		buf_clear(&lines[i]);
	free(path);
	return ret;
}
