/* smtp_data.h: the SMTP DATA reader (RFC 5321 4.1.1.4, 4.5.2), a pure state
 * machine over the message text as the client sends it: it removes
 * dot-stuffing, finds the end-of-data line, normalises line ends to CRLF,
 * counts the size, notes the end of the header section and records the
 * limits broken (size, line length) without stopping: the session consumes
 * the whole message and answers once at the end (RFC 5321 4.2.5 / 4.3.2).
 *
 * Two ways to feed it, with one policy:
 *   - smtp_data_line(): one line at a time, as a line-splitting transport
 *     delivers them (how postierd's conn works);
 *   - smtp_data_parse(): raw bytes in any pieces (tests, fuzzing, BDAT-less
 *     byte streams); it splits lines itself, in place when a line is
 *     complete in the input, buffering only a partial line (bounded).
 *
 * Line ends (policy, SMTP smuggling safe): CRLF and bare LF both end a line
 * and both become CRLF in the output (bare LF is tolerated and counted, as
 * Postfix's "normalize" mode does). The end of data is only
 * <CRLF> "." <CRLF>: a "." line ended by a bare LF, or following a line
 * ended by a bare LF, is data (its dot removed), never the end. A CR not
 * followed by LF is data.
 *
 * Chunking mode (RFC 3030 BDAT): set r->chunking after init; there is no
 * dot-stuffing and no end-of-data line (the chunk sizes end the message),
 * lines are still normalised, counted and checked; smtp_data_finish() ends
 * the message. */
#ifndef PROTO_SMTP_DATA_H
#define PROTO_SMTP_DATA_H

#include <stddef.h>
#include <stdint.h>
#include "postier.h"
#include "core/buf.h"

struct smtp_data_reader {
	/* configuration: limits set by smtp_data_reader_init(); chunking
	 * (BDAT) set by the caller, kept by reset */
	bool chunking;
	/* limits, set by smtp_data_reader_init() */
	size_t max_line_bytes;  /* a line as sent, CRLF included (RFC 5321
				   4.5.3.1.6: 1000) */
	uint64_t max_size;      /* message bytes after unstuffing; 0 = none */

	/* results, valid at any time */
	uint64_t size;          /* message bytes (unstuffed, CRLF line ends) */
	uint64_t header_bytes;  /* bytes before the empty line ending the
				   header section (== size while in headers) */
	bool in_headers;
	bool too_big;           /* size exceeded max_size: output stopped */
	bool line_too_long;     /* some line exceeded max_line_bytes */
	uint64_t lines;
	uint64_t bare_lf_lines; /* lines that ended in a bare LF */
	bool done;              /* end-of-data seen */

	/* private */
	bool prev_crlf;         /* the previous line ended in CRLF (or none) */
	bool discarding;        /* raw mode: skipping the rest of a long line */
	struct buf partial;     /* raw mode: an incomplete line */
};

/* max_line_bytes >= 3. */
void smtp_data_reader_init(struct smtp_data_reader *r, size_t max_line_bytes,
	uint64_t max_size);
void smtp_data_reader_clear(struct smtp_data_reader *r);
/* Back to the state after init (same limits), keeping memory. */
void smtp_data_reader_reset(struct smtp_data_reader *r);

/* Flags for smtp_data_line() */
#define SMTP_DATA_LINE_CRLF 0x1     /* the line ended in CRLF (else bare LF) */
#define SMTP_DATA_LINE_TOO_LONG 0x2 /* truncated by the transport */

/* One line without its line end (borrowed). Appends the message bytes to
 * out unless the size limit is exceeded. Returns 1 when this line ended the
 * data (nothing appended), 0 otherwise. Must not be called once done. */
int smtp_data_line(struct smtp_data_reader *r, const char *line, size_t len,
	unsigned int flags, struct buf *out);

/* Raw bytes. Sets *used_r to the bytes consumed; bytes after the end of
 * data are not consumed (they are the next pipelined command). Returns 1 at
 * the end of data, 0 when all bytes were consumed and more are needed.
 * Never fails: broken limits are recorded in the reader. */
int smtp_data_parse(struct smtp_data_reader *r, const char *data, size_t len,
	struct buf *out, size_t *used_r);

/* Chunking mode: the message ends here. A last line without a line end
 * is completed with CRLF (the queue stores CRLF lines). */
void smtp_data_finish(struct smtp_data_reader *r, struct buf *out);

#endif
