/* dash_scrape.c: picks the graphed samples out of a /metrics body. */
#include "postier.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/xmalloc.h"
#include "proto/openmetrics.h"
#include "dash_layout.h"
#include "dash_scrape.h"

void
dash_scrape_init(struct dash_scrape *s)
{
	PASSERT(dash_layout_ds_count <= DASH_MAX_DS);
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < DASH_MAX_DS; i++)
		s->value[i] = NAN;
}

static const char *
label_get(const struct dash_label *labels, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(labels[i].name, name) == 0)
			return labels[i].value;
	}
	return NULL;
}

/* want: "key=value" */
static bool
labels_match(const struct dash_label *labels, size_t n, const char *want)
{
	const char *eq = strchr(want, '=');
	char key[64];

	PASSERT(eq != NULL && (size_t)(eq - want) < sizeof(key));
	memcpy(key, want, (size_t)(eq - want));
	key[eq - want] = '\0';
	const char *v = label_get(labels, n, key);
	return v != NULL && strcmp(v, eq + 1) == 0;
}

static void
add_bucket(struct dash_scrape *s, const struct dash_label *labels, size_t n,
	double value)
{
	const char *le = label_get(labels, n, "le");
	double bound;
	char *end;

	if (le == NULL)
		return;
	if (strcmp(le, "+Inf") == 0 || strcmp(le, "Inf") == 0) {
		bound = INFINITY;
	} else {
		errno = 0;
		bound = strtod(le, &end);
		if (errno != 0 || end == le || *end != '\0')
			return;
	}
	if (s->bucket_count == DASH_MAX_BUCKETS) {
		s->buckets_overflow = true;
		return;
	}
	s->buckets[s->bucket_count].le = bound;
	s->buckets[s->bucket_count].count = value;
	s->bucket_count++;
}

void
dash_scrape_add_sample(struct dash_scrape *s, const char *name,
	const struct dash_label *labels, size_t label_count, double value)
{
	static const char bucket_name[] = DASH_DELIVERY_HIST "_bucket";

	if (strcmp(name, bucket_name) == 0) {
		add_bucket(s, labels, label_count, value);
		return;
	}
	for (size_t i = 0; i < dash_layout_ds_count; i++) {
		const struct dash_ds *d = &dash_layout_ds[i];
		if (d->kind == DASH_SRC_QUANTILE || strcmp(d->metric, name) != 0)
			continue;
		if (d->label != NULL && !labels_match(labels, label_count, d->label))
			continue;
		s->value[i] = value;
	}
}

int
dash_scrape_parse(struct dash_scrape *s, const char *text, size_t len,
	char **error_r)
{
	struct openmetrics_doc *doc = openmetrics_parse(text, len);
	struct dash_label labels[OPENMETRICS_MAX_LABELS];
	int ret = 0;

	for (size_t i = 0; i < doc->n_samples; i++) {
		const struct openmetrics_sample *m = &doc->samples[i];
		size_t n = m->n_labels < N_ELEMENTS(labels) ? m->n_labels :
			N_ELEMENTS(labels);
		for (size_t k = 0; k < n; k++) {
			labels[k].name = m->labels[k].name;
			labels[k].value = m->labels[k].value;
		}
		dash_scrape_add_sample(s, m->name, labels, n, m->value);
	}
	/* a page with no sample at all is not a metrics page (an HTML error
	 * page, a proxy's answer): unknown rather than a row of gaps */
	if (doc->n_samples == 0) {
		*error_r = xasprintf("no metric sample in %zu bytes (%zu malformed "
			"lines)", len, doc->malformed_lines);
		ret = -1;
	}
	openmetrics_free(&doc);
	return ret;
}

void
dash_scrape_quantiles(struct dash_scrape *s, const struct dash_scrape *prev)
{
	bool usable = prev != NULL && !s->buckets_overflow &&
		!prev->buckets_overflow;

	dash_buckets_sort(s->buckets, s->bucket_count);
	for (size_t i = 0; i < dash_layout_ds_count; i++) {
		const struct dash_ds *d = &dash_layout_ds[i];
		double v;
		if (d->kind != DASH_SRC_QUANTILE)
			continue;
		s->value[i] = NAN;
		if (usable && dash_quantile_delta(prev->buckets, prev->bucket_count,
		    s->buckets, s->bucket_count, d->quantile, &v) == 1)
			s->value[i] = v;
	}
}

static void
format_time(double time, struct buf *out)
{
	/* millisecond timestamps: two scrapes in the same second stay distinct */
	buf_printf(out, "%.3f", time);
}

void
dash_scrape_format_update(const struct dash_scrape *s, double time,
	struct buf *out)
{
	format_time(time, out);
	for (size_t i = 0; i < dash_layout_ds_count; i++) {
		double v = s->value[i];
		if (isnan(v) || isinf(v))
			buf_append_str(out, ":U");
		else if (dash_layout_ds[i].kind == DASH_SRC_COUNTER)
			/* DERIVE takes integers; counters are integers on the wire */
			buf_printf(out, ":%.0f", floor(v));
		else
			buf_printf(out, ":%.17g", v);
	}
}

void
dash_scrape_format_unknown(double time, struct buf *out)
{
	format_time(time, out);
	for (size_t i = 0; i < dash_layout_ds_count; i++)
		buf_append_str(out, ":U");
}

int
dash_scrape_save_buckets(const struct dash_scrape *s, const char *path)
{
	char *tmp = xasprintf("%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	int ret = -1;

	if (f == NULL)
		goto out;
	for (size_t i = 0; i < s->bucket_count; i++) {
		if (isinf(s->buckets[i].le))
			fprintf(f, "+Inf %.17g\n", s->buckets[i].count);
		else
			fprintf(f, "%.17g %.17g\n", s->buckets[i].le,
				s->buckets[i].count);
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		goto out;
	}
	ret = 0;
out:
	free(tmp);
	return ret;
}

int
dash_scrape_load_buckets(struct dash_scrape *s, const char *path)
{
	FILE *f = fopen(path, "r");
	char le[64];
	double count;

	if (f == NULL)
		return -1;
	s->bucket_count = 0;
	while (fscanf(f, "%63s %lf", le, &count) == 2) {
		if (s->bucket_count == DASH_MAX_BUCKETS) {
			s->buckets_overflow = true;
			break;
		}
		s->buckets[s->bucket_count].le =
			strcmp(le, "+Inf") == 0 ? INFINITY : strtod(le, NULL);
		s->buckets[s->bucket_count].count = count;
		s->bucket_count++;
	}
	fclose(f);
	dash_buckets_sort(s->buckets, s->bucket_count);
	return 0;
}
