/* mailbox.h: one Maildir++ folder as POP3 and IMAP sessions see it, kept in
 * Dovecot's own on-disk formats so a Dovecot tree is served as it is and
 * Dovecot can serve it again afterwards (../shared notes: dovecot-maildir.md):
 *   - messages are files in new/ and cur/, flags in the name after ":2,"
 *     (D F P R S T, then keyword letters a-z; see dovecot-keywords);
 *   - UIDs come from dovecot-uidlist (version 3: "3 V<uidvalidity>
 *     N<nextuid> G<guid>", then "<uid> [ext fields] :<base name>"), locked
 *     like Dovecot with dovecot-uidlist.lock created O_EXCL and renamed over
 *     the list;
 *   - RFC822.SIZE from ",W=" in the name (else computed), INTERNALDATE is
 *     the file's mtime.
 * Several processes (another session, Dovecot itself, delivery) may change a
 * folder at any time: mailbox_sync() rescans and reports what changed.
 *
 * Everything here blocks on the file system (readdir, rename, fsync). A
 * mailbox belongs to one session at a time and is not locked: sessions
 * open it in the worker pool (IMAP SELECT/EXAMINE, the POP3 maildrop at
 * login) and IMAP lends it to the worker pool for the rescans of a selected
 * folder: the scans that write dovecot-uidlist with an fsync; IMAP APPEND
 * (its fsync), COPY, MOVE and STATUS of another folder run there too, and
 * so do FETCH/SEARCH/RETR reads of a file that is not in the page cache
 * (mailbox_msg_read_cached() says so). XXX: EXPUNGE (unlink), flag
 * renames and the folder list (LIST, CREATE, DELETE, RENAME, SUBSCRIBE)
 * still run on the loop thread, as Dovecot's imap process does in its own
 * process. */
#ifndef MAILSERVER_MAILBOX_H
#define MAILSERVER_MAILBOX_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include "postier.h"
#include "core/buf.h"

/* System flags (the same bits as imap_search.h's IMAP_FLAG_*). */
#define MAILBOX_FLAG_ANSWERED (1u << 0)  /* R */
#define MAILBOX_FLAG_FLAGGED (1u << 1)   /* F */
#define MAILBOX_FLAG_DELETED (1u << 2)   /* T */
#define MAILBOX_FLAG_SEEN (1u << 3)      /* S */
#define MAILBOX_FLAG_DRAFT (1u << 4)     /* D */
#define MAILBOX_FLAG_RECENT (1u << 5)    /* not stored: this session's */
#define MAILBOX_FLAG_PASSED (1u << 6)    /* P (no IMAP name; kept) */
#define MAILBOX_FLAGS_STORED 0x5fu

/* dovecot-keywords: 26 letters a-z */
#define MAILBOX_MAX_KEYWORDS 26

/* One per message of every open folder of every session (10,000 idle
 * sessions on 1,000-message folders hold ten million): fields ordered so
 * that it packs into 56 bytes. */
struct mailbox_msg {
	uint32_t uid;
	unsigned int flags;   /* MAILBOX_FLAG_* */
	uint32_t keywords;    /* bit i = dovecot-keywords index i */
	uint32_t base_len;    /* name[0..base_len) is the base (before ':') */
	char *name;           /* file name in cur/ (or new/ when in_new) */
	uint64_t size;        /* bytes on disk (S=), 0 = not known yet */
	uint64_t vsize;       /* RFC822.SIZE (W=), 0 = not known yet */
	time_t mtime;         /* INTERNALDATE, 0 = not read yet */
	bool in_new;
	bool expunged;        /* file gone, kept in the view (held expunge) */
};

struct mailbox {
	char *root;           /* the Maildir root (INBOX) */
	char *name;           /* IMAP name: "INBOX", "Sent", "Archive.2024" */
	char *path;           /* this folder's directory */
	bool readonly;
	uint32_t uidvalidity, uidnext;
	struct mailbox_msg *msgs; /* ordered by UID */
	unsigned int count, cap;
	char *keywords[MAILBOX_MAX_KEYWORDS];
	unsigned int n_keywords;
	/* to notice changes cheaply */
	struct timespec new_mtime, cur_mtime;
	unsigned int recent_count;
	/* messages whose files vanished but that a sync without expunges
	 * kept in the view (msgs[i].expunged); the next mailbox_sync()
	 * reports them */
	unsigned int held_expunges;
};

/* What a sync found, for EXISTS/EXPUNGE/FETCH FLAGS replies. */
struct mailbox_changes {
	uint32_t *expunged;   /* old sequence numbers, descending */
	unsigned int n_expunged;
	uint32_t *flag_changed; /* new sequence numbers */
	unsigned int n_flag_changed;
	bool keywords_changed;
	unsigned int old_count;
};

/* The directory of folder name under root into path (emptied first).
 * Returns 0, or -1 when name is not a valid folder name (empty, "..",
 * '/', leading/trailing/double '.', control characters). */
int mailbox_name_to_path(const char *root, const char *name,
	struct buf *path);

/* Opens and syncs a folder. Returns 1 with *box_r, 0 when the folder does
 * not exist, -1 on error (*error_r heap). readonly: EXAMINE/STATUS/POP3
 * peeking: new/ is not moved to cur/ and nothing is written except a missing
 * dovecot-uidlist (UIDs must be stable even for read-only sessions). */
int mailbox_open(const char *root, const char *name, bool readonly,
	struct mailbox **box_r, char **error_r);
void mailbox_free(struct mailbox **box);

/* Rescans the folder: moves new/ to cur/ (unless read-only; those
 * messages get \Recent), assigns UIDs to files without one (locking and
 * rewriting dovecot-uidlist), drops files that vanished. changes may be NULL.
 * Returns 0, or -1 (*error_r heap) leaving the previous view intact. */
int mailbox_sync(struct mailbox *box, struct mailbox_changes *changes,
	char **error_r);
void mailbox_changes_clear(struct mailbox_changes *changes);
/* Like mailbox_sync(), but messages whose files vanished stay in the view
 * (marked expunged, counted in held_expunges) and are not reported, so no
 * sequence number shifts (IMAP after non-UID FETCH, STORE, SEARCH: RFC 3501
 * 7.4.1); new messages and flag changes are reported. A UIDVALIDITY change
 * is left for the next mailbox_sync(). */
int mailbox_sync_no_expunges(struct mailbox *box,
	struct mailbox_changes *changes, char **error_r);

/* Whether new/ or cur/ changed since the last sync (cheap: two stat()s),
 * so idle sessions do not rescan a large folder on every NOOP. */
bool mailbox_needs_sync(struct mailbox *box);

/* Index (0-based) of a UID, or -1. */
int mailbox_find_uid(const struct mailbox *box, uint32_t uid);

/* Full path of message i into path. */
void mailbox_msg_path(const struct mailbox *box, unsigned int i,
	struct buf *path);
/* Reads message i whole into out (appended). Returns 1, 0 when the file
 * is gone (expunged by someone else), -1 on error. */
int mailbox_msg_read(struct mailbox *box, unsigned int i, struct buf *out);
/* The same without waiting for the disk: MAILBOX_WOULD_BLOCK (out as it
 * was) when the file is not all in the page cache (preadv2 RWF_NOWAIT),
 * so an event loop can hand the read to the worker pool instead. Where
 * the kernel cannot tell, it reads as mailbox_msg_read() does. */
#define MAILBOX_WOULD_BLOCK (-2)
int mailbox_msg_read_cached(struct mailbox *box, unsigned int i,
	struct buf *out);
/* Size on disk, RFC822.SIZE (CRLF line ends) and INTERNALDATE of message
 * i, read from the name when there, else from the file (and remembered).
 * Return 0 or -1 (file gone). */
int mailbox_msg_size(struct mailbox *box, unsigned int i, uint64_t *size_r);
int mailbox_msg_vsize(struct mailbox *box, unsigned int i, uint64_t *vsize_r);
int mailbox_msg_mtime(struct mailbox *box, unsigned int i, time_t *mtime_r);

/* Changes flags/keywords of message i by renaming its file (only bits in
 * MAILBOX_FLAGS_STORED are stored). Returns 1, 0 when the file is gone, -1
 * on error. */
int mailbox_set_flags(struct mailbox *box, unsigned int i,
	unsigned int flags, uint32_t keywords, char **error_r);
/* Index of keyword name in dovecot-keywords; when create, adds it (writing
 * the file). Returns the index, or -1 (unknown and !create, or all 26
 * letters used, or an I/O error). */
int mailbox_keyword_index(struct mailbox *box, const char *name, bool create);

/* Removes message i's file (the next sync drops it). Returns 0 or -1. */
int mailbox_expunge(struct mailbox *box, unsigned int i, char **error_r);

/* Stores a new message in folder name: written to tmp/, fsynced, moved
 * into cur/ with flags and keywords (names; added to the folder's
 * dovecot-keywords), mtime = internaldate (0: now), then given the next UID.
 * Returns 1 with *uidvalidity_r and *uid_r (UIDPLUS), 0 if the folder does not
 * exist, -1 on error. */
int mailbox_append(const char *root, const char *name, const void *data,
	size_t len, unsigned int flags, const char *const *keywords,
	unsigned int n_keywords, time_t internaldate, uint32_t *uidvalidity_r,
	uint32_t *uid_r, char **error_r);

/* Copies message i of src into folder dst_name (hard link when possible)
 * keeping flags and keywords. Returns 1 with the new UID, 0 if the message
 * or the folder is gone, -1 on error. */
int mailbox_copy(struct mailbox *src, unsigned int i, const char *dst_name,
	uint32_t *uidvalidity_r, uint32_t *uid_r, char **error_r);

/* Unique base name for a new message file (appends to out). */
void mailbox_new_base_name(struct buf *out);

/* Flags text for IMAP: "\Seen \Answered kw1" (no parentheses). */
void mailbox_flags_append(const struct mailbox *box, unsigned int flags,
	uint32_t keywords, struct buf *out);

#endif
