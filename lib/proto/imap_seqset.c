/* imap_seqset.c: parsing and resolving IMAP sequence sets. */
#include "postier.h"

#include <stdlib.h>

#include "core/xmalloc.h"
#include "proto/imap_seqset.h"

void
imap_seqset_init(struct imap_seqset *set)
{
	set->ranges = NULL;
	set->count = set->cap = 0;
}

void
imap_seqset_clear(struct imap_seqset *set)
{
	free(set->ranges);
	imap_seqset_init(set);
}

void
imap_seqset_add(struct imap_seqset *set, uint32_t lo, uint32_t hi)
{
	if (set->count == set->cap) {
		set->cap = set->cap == 0 ? 8 : set->cap * 2;
		set->ranges = xrealloc(set->ranges,
			set->cap * sizeof(*set->ranges));
	}
	set->ranges[set->count].lo = lo;
	set->ranges[set->count].hi = hi;
	set->count++;
}

/* seq-number at *s; advances *s. Returns 0 or -1. */
static int
imap_seq_number(const char **s, uint32_t *n_r, const char **error_r)
{
	const char *p = *s;
	if (*p == '*') {
		*n_r = IMAP_SEQ_STAR;
		*s = p + 1;
		return 0;
	}
	if (*p < '1' || *p > '9') {
		*error_r = *p == '0' ? "Invalid number 0 in sequence set" :
			"Invalid sequence set";
		return -1;
	}
	uint64_t n = 0;
	while (*p >= '0' && *p <= '9') {
		n = n * 10 + (uint64_t)(*p - '0');
		if (n > UINT32_MAX) {
			*error_r = "Number too large in sequence set";
			return -1;
		}
		p++;
	}
	*n_r = (uint32_t)n;
	*s = p;
	return 0;
}

int
imap_seqset_parse(struct imap_seqset *set, const char *s,
	unsigned int max_ranges, const char **error_r)
{
	set->count = 0;
	if (*s == '\0') {
		*error_r = "Empty sequence set";
		return -1;
	}
	for (;;) {
		uint32_t lo, hi;
		if (imap_seq_number(&s, &lo, error_r) < 0)
			return -1;
		hi = lo;
		if (*s == ':') {
			s++;
			if (imap_seq_number(&s, &hi, error_r) < 0)
				return -1;
		}
		if (set->count >= max_ranges) {
			*error_r = "Sequence set too long";
			return -1;
		}
		imap_seqset_add(set, lo, hi);
		if (*s == '\0')
			return 0;
		if (*s != ',') {
			*error_r = "Invalid sequence set";
			return -1;
		}
		s++;
	}
}

static int
imap_range_cmp(const void *a, const void *b)
{
	const struct imap_seq_range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo ? 1 : 0;
}

void
imap_seqset_resolve(const struct imap_seqset *in, uint32_t star,
	struct imap_seqset *out)
{
	out->count = 0;
	for (unsigned int i = 0; i < in->count; i++) {
		uint32_t lo = in->ranges[i].lo, hi = in->ranges[i].hi;
		if (lo == IMAP_SEQ_STAR)
			lo = star;
		if (hi == IMAP_SEQ_STAR)
			hi = star;
		if (lo > hi) {
			uint32_t t = lo;
			lo = hi;
			hi = t;
		}
		if (hi == 0)
			continue; /* "*" in an empty mailbox */
		if (lo == 0)
			lo = 1;
		imap_seqset_add(out, lo, hi);
	}
	if (out->count < 2)
		return;
	qsort(out->ranges, out->count, sizeof(*out->ranges), imap_range_cmp);
	unsigned int n = 0;
	for (unsigned int i = 1; i < out->count; i++) {
		struct imap_seq_range *last = &out->ranges[n];
		const struct imap_seq_range *r = &out->ranges[i];
		if (last->hi == UINT32_MAX || r->lo <= last->hi + 1) {
			if (r->hi > last->hi)
				last->hi = r->hi;
		} else {
			out->ranges[++n] = *r;
		}
	}
	out->count = n + 1;
}

bool
imap_seqset_contains(const struct imap_seqset *set, uint32_t n)
{
	unsigned int lo = 0, hi = set->count;
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		const struct imap_seq_range *r = &set->ranges[mid];
		if (n < r->lo)
			hi = mid;
		else if (n > r->hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}
