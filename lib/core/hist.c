/* hist.c: log-linear histogram (see hist.h). Bucket index of v:
 * v < 2^S: v itself; else with e = floor(log2 v) - S:
 * 2^S + e * 2^S + (v >> e) - 2^S, i.e. (e + 1) * 2^S + (v >> e) - 2^S. */
#include "postier.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "core/hist.h"

#define HIST_SUB (1 << HIST_SUB_BITS)
/* HIST_MAX_VALUE < 2^32: exponents 0 .. 32 - HIST_SUB_BITS - 1. */
#define HIST_EXPONENTS (32 - HIST_SUB_BITS)
#define HIST_BUCKETS (HIST_SUB + HIST_EXPONENTS * HIST_SUB)

struct hist {
	uint64_t count;
	int64_t min, max;
	double sum;
	uint64_t buckets[HIST_BUCKETS];
};

struct hist *
hist_new(void)
{
	struct hist *h = xcalloc(1, sizeof(*h));
	return h;
}

void
hist_free(struct hist **h)
{
	free(*h);
	*h = NULL;
}

void
hist_reset(struct hist *h)
{
	memset(h, 0, sizeof(*h));
}

static unsigned int
hist_index(int64_t v)
{
	if (v < HIST_SUB)
		return (unsigned int)v;
	if (v > HIST_MAX_VALUE)
		v = HIST_MAX_VALUE;
	unsigned int bits = 63 - (unsigned int)__builtin_clzll((uint64_t)v);
	unsigned int e = bits - HIST_SUB_BITS;
	return (e + 1) * HIST_SUB + (unsigned int)(v >> e) - HIST_SUB;
}

/* Lowest value of bucket i and its width. */
static void
hist_bucket_range(unsigned int i, int64_t *low_r, int64_t *width_r)
{
	if (i < HIST_SUB) {
		*low_r = i;
		*width_r = 1;
		return;
	}
	unsigned int e = i / HIST_SUB - 1;
	int64_t sub = (int64_t)(i % HIST_SUB) + HIST_SUB;
	*low_r = sub << e;
	*width_r = (int64_t)1 << e;
}

void
hist_record_n(struct hist *h, int64_t value, uint64_t n)
{
	if (n == 0)
		return;
	if (value < 0)
		value = 0;
	if (h->count == 0 || value < h->min)
		h->min = value;
	if (h->count == 0 || value > h->max)
		h->max = value;
	h->count += n;
	h->sum += (double)value * (double)n;
	h->buckets[hist_index(value)] += n;
}

void
hist_record(struct hist *h, int64_t value)
{
	hist_record_n(h, value, 1);
}

void
hist_merge(struct hist *dst, const struct hist *src)
{
	if (src->count == 0)
		return;
	if (dst->count == 0 || src->min < dst->min)
		dst->min = src->min;
	if (dst->count == 0 || src->max > dst->max)
		dst->max = src->max;
	dst->count += src->count;
	dst->sum += src->sum;
	for (unsigned int i = 0; i < HIST_BUCKETS; i++)
		dst->buckets[i] += src->buckets[i];
}

uint64_t
hist_count(const struct hist *h)
{
	return h->count;
}

int64_t
hist_min(const struct hist *h)
{
	return h->min;
}

int64_t
hist_max(const struct hist *h)
{
	return h->max;
}

double
hist_mean(const struct hist *h)
{
	return h->count > 0 ? h->sum / (double)h->count : 0.0;
}

int64_t
hist_percentile(const struct hist *h, double p)
{
	if (h->count == 0)
		return 0;
	if (p > 100)
		p = 100;
	/* nearest rank: ceil(p/100 * N), at least 1 */
	double r = p / 100.0 * (double)h->count;
	uint64_t rank = (uint64_t)r;
	if ((double)rank < r)
		rank++;
	if (rank < 1)
		rank = 1;
	if (rank >= h->count)
		return h->max;
	uint64_t seen = 0;
	for (unsigned int i = 0; i < HIST_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= rank) {
			int64_t low, width;
			hist_bucket_range(i, &low, &width);
			int64_t v = low + (width - 1) / 2;
			if (v < h->min)
				v = h->min;
			if (v > h->max)
				v = h->max;
			return v;
		}
	}
	return h->max;
}

double
hist_fraction_le(const struct hist *h, int64_t value)
{
	if (h->count == 0)
		return 1.0;
	if (value < 0)
		return 0.0;
	if (value >= h->max)
		return 1.0;
	unsigned int last = hist_index(value);
	uint64_t seen = 0;
	for (unsigned int i = 0; i <= last; i++)
		seen += h->buckets[i];
	return (double)seen / (double)h->count;
}

void
hist_encode(const struct hist *h, struct buf *out)
{
	buf_printf(out, "lh1/%d/%llu/%lld/%lld/%.0f/", HIST_SUB_BITS,
		(unsigned long long)h->count, (long long)h->min,
		(long long)h->max, h->sum);
	bool first = true;
	for (unsigned int i = 0; i < HIST_BUCKETS; i++) {
		if (h->buckets[i] == 0)
			continue;
		buf_printf(out, "%s%u:%llu", first ? "" : ",", i,
			(unsigned long long)h->buckets[i]);
		first = false;
	}
}

/* Reads an unsigned decimal number ending at one of stops. */
static int
hist_num(const char **sp, const char *end, const char *stops,
	unsigned long long *v_r)
{
	const char *s = *sp;
	unsigned long long v = 0;
	if (s >= end || *s < '0' || *s > '9')
		return -1;
	while (s < end && *s >= '0' && *s <= '9') {
		if (v > (~0ULL - 9) / 10)
			return -1;
		v = v * 10 + (unsigned long long)(*s - '0');
		s++;
	}
	if (s < end && strchr(stops, *s) == NULL)
		return -1;
	if (s == end && strchr(stops, '\0') == NULL)
		return -1;
	*v_r = v;
	*sp = s < end ? s + 1 : s;
	return 0;
}

int
hist_decode_add(struct hist *h, const char *s, size_t len,
	const char **error_r)
{
	const char *end = s + len;
	unsigned long long sub, count, min, max, sum;
	if (len < 4 || memcmp(s, "lh1/", 4) != 0) {
		*error_r = "histogram encoding does not start with lh1/";
		return -1;
	}
	s += 4;
	if (hist_num(&s, end, "/", &sub) < 0 || sub != HIST_SUB_BITS ||
	    hist_num(&s, end, "/", &count) < 0 ||
	    hist_num(&s, end, "/", &min) < 0 ||
	    hist_num(&s, end, "/", &max) < 0 ||
	    hist_num(&s, end, "/", &sum) < 0) {
		*error_r = "bad histogram header";
		return -1;
	}
	struct hist *tmp = hist_new();
	uint64_t total = 0;
	while (s < end) {
		unsigned long long idx, n;
		if (hist_num(&s, end, ":", &idx) < 0 || idx >= HIST_BUCKETS ||
		    hist_num(&s, end, ",", &n) < 0) {
			hist_free(&tmp);
			*error_r = "bad histogram bucket";
			return -1;
		}
		tmp->buckets[idx] += n;
		total += n;
	}
	if (total != count || (count > 0 && (min > max ||
	    (int64_t)max > HIST_MAX_VALUE * 1000))) {
		hist_free(&tmp);
		*error_r = "histogram counts do not add up";
		return -1;
	}
	tmp->count = count;
	tmp->min = (int64_t)min;
	tmp->max = (int64_t)max;
	tmp->sum = (double)sum;
	hist_merge(h, tmp);
	hist_free(&tmp);
	return 0;
}
