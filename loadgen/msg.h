/* msg.h: load-test messages that can be verified. Each carries
 *   X-Postier-Loadgen: run=<run id> seq=<n> digest=<sha256 hex>
 * where the digest covers the run id, the sequence number and the body with
 * line ends normalised (CR removed, trailing newlines dropped), so a reader
 * detects any altered byte in the body or in those values, whatever headers
 * the server adds and whichever line ends it stores. */
#ifndef LOADGEN_MSG_H
#define LOADGEN_MSG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include "postier.h"
#include "core/buf.h"

#define LGMSG_RUN_ID_MAX 40

struct lgmsg_spec {
	const char *run_id;	/* [A-Za-z0-9-], at most LGMSG_RUN_ID_MAX */
	uint64_t seq;
	const char *from;
	const char *const *to;
	unsigned int n_to;
	size_t size;		/* wanted total size in bytes (approximate) */
	bool attachment;	/* multipart/mixed with a base64 part */
	int64_t date_unix;
};

/* A message as pieces to send without copying it: the header and the MIME
 * lines of the body in own memory, the text as slices of one pseudo-random
 * block shared by every message of the process, made once and never
 * written again (so it may be sent by reference, or spliced). */
struct lgmsg_iov {
	struct buf own;		/* header and MIME lines */
	struct iovec *iov;	/* the message, in order */
	size_t *own_off;	/* internal: offsets of own segments */
	unsigned int n, cap;
	size_t len;		/* bytes in all of iov */
};

void lgmsg_iov_init(struct lgmsg_iov *m);
void lgmsg_iov_clear(struct lgmsg_iov *m);
/* Makes the message of spec in m, replacing what m held. m->iov points into
 * m->own and the shared block: valid until m is built again or cleared.
 * Deterministic for a given spec. The message ends with CRLF and no line
 * starts with "." (the text is base64 characters, the header and MIME lines
 * are ours), so it needs no dot-stuffing (RFC 5321 4.5.2). */
void lgmsg_build_iov(struct lgmsg_iov *m, const struct lgmsg_spec *spec);

/* Appends the same message as lgmsg_build_iov(), as one copy, to out. */
void lgmsg_build(struct buf *out, const struct lgmsg_spec *spec);

/* Checks a message as fetched. Returns 1 when it carries run_id and its
 * digest matches (*seq_r set), 0 when it is not a load-test message of this
 * run (no header or another run id), -1 when it claims this run but does not
 * verify (corrupted; *seq_r set when the seq could be read, else
 * UINT64_MAX). Never blocks. */
int lgmsg_verify(const char *data, size_t len, const char *run_id,
	uint64_t *seq_r);

#endif
