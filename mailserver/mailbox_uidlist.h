/* mailbox_uidlist.h: Dovecot's dovecot-uidlist file, version 3.
 *
 *   3 V<uidvalidity> N<nextuid> [G<guid>] [other header fields]
 *   <uid> [<ext field> ...] :<base file name>
 *
 * Extension fields (W<vsize>, S<size>, P<pop3 uidl>, ...) and unknown header
 * fields are kept as read and written back. The next UID to give is
 * max(N, highest listed UID + 1): Dovecot's N was seen stale. Lines are
 * written with the base name (before ':'), as Dovecot writes them; matching
 * is by base name so flag renames never change a UID.
 *
 * Locking is Dovecot's dotlock: dovecot-uidlist.lock is created with O_EXCL,
 * the new list is written into it, fsynced and renamed over dovecot-uidlist.
 * A lock not modified for 2 minutes is stale and removed (Dovecot's
 * stale_timeout for this lock). Everything blocks. */
#ifndef MAILSERVER_MAILBOX_UIDLIST_H
#define MAILSERVER_MAILBOX_UIDLIST_H

#include <stdint.h>
#include "postier.h"

struct uidlist_rec {
	uint32_t uid;
	char *base;
	char *ext;        /* raw extension fields ("W1234 S1200") or NULL */
};

struct uidlist {
	uint32_t uidvalidity, nextuid;
	char *guid;       /* 32 hex digits, or NULL */
	char *hdr_extra;  /* other header fields, or NULL */
	struct uidlist_rec *recs; /* in file order (ascending UIDs) */
	unsigned int count, cap;
};

void uidlist_init(struct uidlist *ul);
void uidlist_clear(struct uidlist *ul);

/* Reads dir/dovecot-uidlist. Returns 1, 0 when missing (ul stays empty),
 * -1 when unreadable or not version 3 (*error_r heap). */
int uidlist_read(const char *dir, struct uidlist *ul, char **error_r);
/* The UID the next new message gets. */
uint32_t uidlist_next_uid(const struct uidlist *ul);
void uidlist_add(struct uidlist *ul, uint32_t uid, const char *base,
	size_t base_len, const char *ext);

/* Takes the lock (waiting up to timeout_ms). Returns the lock file's fd, or
 * -1 (*error_r heap; errno EAGAIN when another holder kept it). */
int uidlist_lock(const char *dir, long long timeout_ms, char **error_r);
/* Writes ul into the lock file, fsyncs and renames it over the list,
 * which also releases the lock. Returns 0 or -1 (the lock is released in
 * both cases). */
int uidlist_commit(const char *dir, int lock_fd, const struct uidlist *ul,
	char **error_r);
/* Releases the lock without writing. */
void uidlist_unlock(const char *dir, int lock_fd);

#endif
