/* spool.h: the queue file format, writer helpers and incremental parser.
 *
 * A spool file is a magic line then typed, length-prefixed records, ending
 * with an END record (docs/queue.md, vector in tests/vectors/spool/):
 *
 *   file   = magic *record end
 *   magic  = "POSTIER-SPOOL 1" LF                       ; 16 octets
 *   record = type length payload
 *   type   = 1 octet, an upper-case letter (below)
 *   length = 4 octets, unsigned, big-endian (payload octets)
 *   end    = "E" length size SP vsize SP rcpts          ; decimal ASCII
 *
 * Types: I queue id, T arrival time (Unix microseconds, decimal), N host name
 * for Maildir file names, F reverse-path ("" = null sender), H HELO name,
 * C client address, A authenticated user, S session id, R recipient
 * (address NUL maildir-root), D message data (any number, concatenated in
 * order; at most SPOOL_MAX_DATA_RECORD octets each), E end. Envelope
 * records come before the first D; R may come anywhere before E. Nothing
 * may follow E. A file without a valid E was never acknowledged: recovery
 * deletes it. */
#ifndef MAILSERVER_SPOOL_H
#define MAILSERVER_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include "postier.h"
#include "core/buf.h"

#define SPOOL_MAGIC "POSTIER-SPOOL 1\n"
#define SPOOL_MAGIC_LEN 16
#define SPOOL_RECORD_HEADER_LEN 5
/* A D record carries at most this much (the writer flushes at 64 KiB). */
#define SPOOL_MAX_DATA_RECORD (1024 * 1024)
/* Any other record. */
#define SPOOL_MAX_META_RECORD (16 * 1024)

enum spool_record_type {
	SPOOL_REC_ID = 'I',
	SPOOL_REC_TIME = 'T',
	SPOOL_REC_HOST = 'N',
	SPOOL_REC_FROM = 'F',
	SPOOL_REC_HELO = 'H',
	SPOOL_REC_CLIENT = 'C',
	SPOOL_REC_AUTH = 'A',
	SPOOL_REC_SID = 'S',
	SPOOL_REC_RCPT = 'R',
	SPOOL_REC_DATA = 'D',
	SPOOL_REC_END = 'E',
};

/* Appends one record to out. */
void spool_append_record(struct buf *out, enum spool_record_type type,
	const void *payload, size_t len);
/* Appends the 5-octet record header only (the payload follows). */
void spool_append_header(struct buf *out, enum spool_record_type type,
	size_t len);

struct spool_record {
	enum spool_record_type type;
	const char *payload; /* borrowed until the next spool_parser call */
	size_t len;
	uint64_t offset;     /* of the payload in the file */
};

struct spool_parser {
	struct buf pending;  /* bytes of the record being assembled */
	uint64_t offset;     /* file offset of pending's first byte */
	bool magic_done;
	bool data_seen;
	bool ended;
	bool failed;
	bool record_out;     /* pending holds a returned record */
	const char *input;   /* fed, not yet consumed (borrowed) */
	size_t input_len;
};

void spool_parser_init(struct spool_parser *p);
void spool_parser_clear(struct spool_parser *p);
/* Gives bytes to the parser; borrowed until spool_parser_next() returns 0. */
void spool_parser_feed(struct spool_parser *p, const void *data, size_t len);
/* Returns 1 with the next record in *rec_r, 0 when it needs more input, -1
 * with *error_r (static) when the input is malformed (the parser then stays
 * failed). After END, any further byte is malformed. */
int spool_parser_next(struct spool_parser *p, struct spool_record *rec_r,
	const char **error_r);
/* True once a well-formed END record was returned. */
bool spool_parser_ended(const struct spool_parser *p);

/* What a whole spool file says, for delivery and recovery. */
struct spool_rcpt {
	char *address;
	char *maildir;
};

struct spool_data_range {
	uint64_t offset;
	uint32_t len;
};

struct spool_envelope {
	char *id;
	char *host;
	char *from;
	char *helo;
	char *client;
	char *auth;
	char *sid;
	int64_t time_us;
	struct spool_rcpt *rcpts;
	size_t rcpt_count;
	struct spool_data_range *data;
	size_t data_count;
	uint64_t size;   /* message octets (sum of D) */
	uint64_t vsize;  /* with every line end counted as CRLF */
};

/* Reads a spool file through the parser. Returns 1 with *env_r filled (the
 * file is complete and consistent), 0 when it has no END (never committed),
 * -1 with *error_r (heap) when unreadable or malformed. Blocks. */
int spool_read_envelope(int fd, struct spool_envelope *env_r,
	char **error_r);
/* Records a parsed record into env (used by spool_read_envelope and tests);
 * returns 0 or -1 with *error_r (static) for a bad payload. */
int spool_envelope_add(struct spool_envelope *env,
	const struct spool_record *rec, const char **error_r);
void spool_envelope_clear(struct spool_envelope *env);

#endif
