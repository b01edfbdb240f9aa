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

/* Appends the whole message (CRLF line ends) to out. Deterministic for a
 * given spec. */
void lgmsg_build(struct buf *out, const struct lgmsg_spec *spec);

/* Checks a message as fetched. Returns 1 when it carries run_id and its
 * digest matches (*seq_r set), 0 when it is not a load-test message of this
 * run (no header or another run id), -1 when it claims this run but does not
 * verify (corrupted; *seq_r set when the seq could be read, else
 * UINT64_MAX). Never blocks. */
int lgmsg_verify(const char *data, size_t len, const char *run_id,
	uint64_t *seq_r);

#endif
