/* imap_seqset.h: IMAP sequence sets (message numbers or UIDs).
 *
 *   RFC 3501 9: sequence-set = (seq-number / seq-range) *("," sequence-set)
 *     seq-range  = seq-number ":" seq-number
 *     seq-number = nz-number / "*"       nz-number = digit-nz *DIGIT
 *   nz-number is an unsigned 32-bit integer: 0, leading zeros and numbers
 *   above 4294967295 are refused. "*" is the highest number in use; "*:*"
 *   is valid and means just that one. Left out: "$" (RFC 5182 SEARCHRES). */
#ifndef PROTO_IMAP_SEQSET_H
#define PROTO_IMAP_SEQSET_H

#include <stdint.h>
#include "postier.h"

/* "*" in a parsed (unresolved) range; 0 is never a valid number. */
#define IMAP_SEQ_STAR 0u

struct imap_seq_range {
	uint32_t lo, hi;
};

struct imap_seqset {
	struct imap_seq_range *ranges;
	unsigned int count, cap;
};

void imap_seqset_init(struct imap_seqset *set);
void imap_seqset_clear(struct imap_seqset *set);

/* Parses s (NUL-terminated) into set (emptied first), at most max_ranges
 * ranges. Returns 0, or -1 with *error_r (static text). */
int imap_seqset_parse(struct imap_seqset *set, const char *s,
	unsigned int max_ranges, const char **error_r);

/* Copies in into out (emptied first) with "*" replaced by star (the highest
 * sequence number or UID; 0 when the mailbox is empty), every range ordered
 * lo <= hi, sorted and merged. */
void imap_seqset_resolve(const struct imap_seqset *in, uint32_t star,
	struct imap_seqset *out);
/* Whether n is in a resolved set (binary search). */
bool imap_seqset_contains(const struct imap_seqset *resolved, uint32_t n);
/* Appends a range (used to build sets for UIDPLUS replies). */
void imap_seqset_add(struct imap_seqset *set, uint32_t lo, uint32_t hi);

#endif
