/* maildir_write.h: creating Maildirs and naming new messages.
 *
 * Names follow the Maildir spec (cr.yp.to/proto/maildir.html) the way
 * Dovecot writes them: "<sec>.M<usec>P<pid>Q<seq>.<host>,S=<size>,W=<vsize>"
 * (Q = deliveries made by that process; '/' and ':' in host written as \057
 * and \072). Postier derives the name from the queue entry, so delivering the
 * same entry twice yields the same name: a redelivery after a crash finds its
 * own earlier copy (link() says EEXIST) instead of adding a duplicate.
 * Everything here blocks on the file system: worker threads only. */
#ifndef MAILSERVER_MAILDIR_WRITE_H
#define MAILSERVER_MAILDIR_WRITE_H

#include <stdint.h>
#include <sys/types.h>
#include "postier.h"
#include "core/buf.h"

/* Appends "<sec>.M<usec>P<pid>Q<seq>": unique on one host (the queue id). */
void maildir_unique_id(struct buf *out, int64_t time_us, pid_t pid,
	uint64_t seq);
/* Appends the base name "<unique_id>.<host>" (host escaped). */
void maildir_base_name(struct buf *out, const char *unique_id,
	const char *host);
/* Appends ",S=<size>,W=<vsize>" to a base name. */
void maildir_size_suffix(struct buf *out, uint64_t size, uint64_t vsize);

/* Makes sure root, root/tmp, root/new and root/cur exist (mkdir -p, mode
 * 0700), fsyncing each parent whose entries changed so a new Maildir is
 * durable before a message goes in. Returns 0 or -1 with *error_r (heap) and
 * errno kept. */
int maildir_ensure(const char *root, char **error_r);

/* 1 if a message whose name starts with base is already in root/new or
 * root/cur (any flags), 0 if not, -1 if the Maildir cannot be read. Reads
 * all of cur/: meant for recovery, not for every delivery. */
int maildir_has_message(const char *root, const char *name, const char *base);

/* fsync() of a directory by path. Returns 0 or -1 (errno set). */
int maildir_fsync_dir(const char *path);

#endif
