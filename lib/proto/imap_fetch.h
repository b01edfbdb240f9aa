/* imap_fetch.h: FETCH attribute lists read from parsed arguments.
 *
 *   RFC 3501 6.4.5, 9: fetch-att = "ENVELOPE" / "FLAGS" / "INTERNALDATE" /
 *     "RFC822" [".HEADER" / ".SIZE" / ".TEXT"] / "BODY" ["STRUCTURE"] /
 *     "UID" / "BODY" section ["<" number "." nz-number ">"] /
 *     "BODY.PEEK" section ["<" number "." nz-number ">"]
 *   section      = "[" [section-spec] "]"
 *   section-spec = section-msgtext / (section-part ["." section-text])
 *   section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list /
 *                  "TEXT"
 *   section-part = nz-number *("." nz-number)
 *   section-text = section-msgtext / "MIME"
 *   macros: ALL, FAST, FULL.
 * Left out: BINARY (RFC 3516), MODSEQ (RFC 7162). */
#ifndef PROTO_IMAP_FETCH_H
#define PROTO_IMAP_FETCH_H

#include <stdint.h>
#include "postier.h"
#include "proto/imap_parser.h"

#define IMAP_SECTION_MAX_PARTS 32
#define IMAP_FETCH_MAX_ATTS 64
#define IMAP_FETCH_MAX_FIELDS 128

enum imap_fetch_item {
	IMAP_FETCH_FLAGS,
	IMAP_FETCH_INTERNALDATE,
	IMAP_FETCH_RFC822_SIZE,
	IMAP_FETCH_UID,
	IMAP_FETCH_ENVELOPE,
	IMAP_FETCH_BODYSTRUCTURE,
	IMAP_FETCH_BODY,          /* non-extensible BODYSTRUCTURE */
	IMAP_FETCH_RFC822,        /* = BODY[], sets \Seen */
	IMAP_FETCH_RFC822_HEADER, /* = BODY.PEEK[HEADER] */
	IMAP_FETCH_RFC822_TEXT,   /* = BODY[TEXT], sets \Seen */
	IMAP_FETCH_SECTION,       /* BODY[...] / BODY.PEEK[...] */
};

enum imap_section_spec {
	IMAP_SECTION_ALL,         /* [] or [1.2]: the whole message / part */
	IMAP_SECTION_HEADER,
	IMAP_SECTION_HEADER_FIELDS,
	IMAP_SECTION_HEADER_FIELDS_NOT,
	IMAP_SECTION_TEXT,
	IMAP_SECTION_MIME,
};

struct imap_fetch_att {
	enum imap_fetch_item item;
	bool peek;                /* BODY.PEEK: do not set \Seen */
	uint32_t parts[IMAP_SECTION_MAX_PARTS];
	unsigned int n_parts;
	enum imap_section_spec spec;
	char **fields;            /* HEADER.FIELDS names (heap) */
	unsigned int n_fields;
	bool partial;
	uint64_t offset, length;
	/* The name used in the response, e.g. "BODY[HEADER.FIELDS (FROM)]<0>"
	 * (heap). */
	char *name;
};

struct imap_fetch {
	struct imap_fetch_att *atts;
	unsigned int count;
	bool sets_seen;           /* some attribute sets \Seen */
};

void imap_fetch_init(struct imap_fetch *f);
void imap_fetch_clear(struct imap_fetch *f);

/* Reads the fetch attributes starting at arg (one atom or a list) into f
 * (cleared first). Returns 0, or -1 with *error_r (static text). */
int imap_fetch_parse(struct imap_fetch *f, const struct imap_arg *arg,
	const char **error_r);

#endif
