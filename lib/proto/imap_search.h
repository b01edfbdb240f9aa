/* imap_search.h: SEARCH keys read from parsed arguments into a tree.
 *
 *   RFC 3501 6.4.4, 9: search = "SEARCH" [SP "CHARSET" SP astring]
 *                                1*(SP search-key)
 *   search-key = "ALL" / "ANSWERED" / "BCC" SP astring / "BEFORE" SP date /
 *     "BODY" SP astring / "CC" SP astring / "DELETED" / "FLAGGED" /
 *     "FROM" SP astring / "KEYWORD" SP flag-keyword / "NEW" / "OLD" /
 *     "ON" SP date / "RECENT" / "SEEN" / "SINCE" SP date / "SUBJECT" SP
 *     astring / "TEXT" SP astring / "TO" SP astring / "UNANSWERED" /
 *     "UNDELETED" / "UNFLAGGED" / "UNKEYWORD" SP flag-keyword / "UNSEEN" /
 *     "DRAFT" / "HEADER" SP header-fld-name SP astring / "LARGER" SP number /
 *     "NOT" SP search-key / "OR" SP search-key SP search-key /
 *     "SENTBEFORE" SP date / "SENTON" SP date / "SENTSINCE" SP date /
 *     "SMALLER" SP number / "UID" SP sequence-set / "UNDRAFT" /
 *     sequence-set / "(" search-key *(SP search-key) ")"
 * The CHARSET prefix is the caller's (only US-ASCII and UTF-8 exist here). */
#ifndef PROTO_IMAP_SEARCH_H
#define PROTO_IMAP_SEARCH_H

#include <stdint.h>
#include <time.h>
#include "postier.h"
#include "proto/imap_parser.h"
#include "proto/imap_seqset.h"

#define IMAP_SEARCH_MAX_DEPTH 32
#define IMAP_SEARCH_MAX_KEYS 1024

enum imap_search_type {
	IMAP_SEARCH_AND,        /* children all match (a list, the top) */
	IMAP_SEARCH_OR,         /* two children */
	IMAP_SEARCH_NOT,        /* one child */
	IMAP_SEARCH_ALL,
	IMAP_SEARCH_SEQSET,
	IMAP_SEARCH_UID,
	IMAP_SEARCH_FLAG,       /* flag set (flag_bit) */
	IMAP_SEARCH_NOFLAG,     /* flag not set */
	IMAP_SEARCH_KEYWORD,    /* str */
	IMAP_SEARCH_UNKEYWORD,
	IMAP_SEARCH_NEW,        /* RECENT and not SEEN */
	IMAP_SEARCH_OLD,        /* not RECENT */
	IMAP_SEARCH_RECENT,
	IMAP_SEARCH_HEADER,     /* str = field, str2 = substring */
	IMAP_SEARCH_BODY,       /* str in the body */
	IMAP_SEARCH_TEXT,       /* str in header or body */
	IMAP_SEARCH_BEFORE,     /* internal date, date = UTC midnight */
	IMAP_SEARCH_ON,
	IMAP_SEARCH_SINCE,
	IMAP_SEARCH_SENTBEFORE, /* Date: header */
	IMAP_SEARCH_SENTON,
	IMAP_SEARCH_SENTSINCE,
	IMAP_SEARCH_LARGER,     /* number */
	IMAP_SEARCH_SMALLER,
};

/* System flags as bits (shared with the mailbox layer's flag bits). */
enum imap_flag_bit {
	IMAP_FLAG_ANSWERED = 1 << 0,
	IMAP_FLAG_FLAGGED = 1 << 1,
	IMAP_FLAG_DELETED = 1 << 2,
	IMAP_FLAG_SEEN = 1 << 3,
	IMAP_FLAG_DRAFT = 1 << 4,
	IMAP_FLAG_RECENT = 1 << 5,
};

struct imap_search_key {
	enum imap_search_type type;
	unsigned int flag_bit;
	const char *str, *str2;   /* borrowed from the parsed arguments */
	time_t date;
	uint64_t number;
	struct imap_seqset seqset;
	struct imap_search_key *children;
	unsigned int n_children;
};

/* Reads keys from args (ended by EOL) into a new AND tree. Strings are
 * borrowed from args: free the tree before resetting the parser. Returns 0,
 * or -1 with *error_r (static text). */
int imap_search_parse(const struct imap_arg *args,
	struct imap_search_key **key_r, const char **error_r);
void imap_search_free(struct imap_search_key **key);

#endif
