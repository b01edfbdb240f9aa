/* passwd_file.h: Dovecot's passwd-file format, read incrementally.
 *
 *   user@domain:password:uid:gid:gecos:home:shell:extra_fields
 *
 * (Dovecot wiki "passwd-file"): fields after the password may be missing or
 * empty; uid and gid are numbers or system names; extra_fields are
 * space-separated key=value pairs (userdb_mail=..., kept as text). Lines
 * starting with '#' and blank lines are skipped. The domain part of user is
 * lower-cased (domains are case-insensitive, RFC 5321 2.4); the local part is
 * kept as written. A password without {SCHEME} is a crypt(3) hash.
 *
 * The reader is fed bytes in any pieces (whole file or one byte at a time give
 * the same entries) and never holds more than one line. */
#ifndef MAILSERVER_PASSWD_FILE_H
#define MAILSERVER_PASSWD_FILE_H

#include <stddef.h>
#include <sys/types.h>
#include "postier.h"
#include "core/buf.h"

/* Longest line accepted, LF included. */
#define PASSWD_FILE_MAX_LINE_BYTES 8192

struct passwd_entry {
	char *user;      /* canonical: local part as written, domain lower-case */
	char *password;  /* may be "" (no password: login refused) */
	uid_t uid;       /* (uid_t)-1 when empty */
	gid_t gid;       /* (gid_t)-1 when empty */
	char *home;      /* NULL when empty */
	char *extra;     /* NULL when empty; raw "k=v k=v" */
	unsigned line;   /* line number in the file */
};

void passwd_entry_clear(struct passwd_entry *e);

/* Parses one line (without its LF; a trailing CR is ignored). Returns 1 with
 * *entry_r filled (caller clears it), 0 for a comment or blank line, -1 with
 * *error_r (static string) when malformed. */
int passwd_file_parse_line(const char *line, size_t len,
	struct passwd_entry *entry_r, const char **error_r);

/* Value of key in an extra-fields string ("userdb_mail=..." or "mail=...");
 * heap string or NULL. */
char *passwd_entry_extra(const struct passwd_entry *e, const char *key);

struct passwd_reader {
	struct buf line;
	unsigned line_no;
	bool overflow;   /* current line exceeded the limit */
	bool finished;
	const char *pending; /* bytes fed and not yet consumed */
	size_t pending_len;
};

void passwd_reader_init(struct passwd_reader *r);
void passwd_reader_clear(struct passwd_reader *r);
/* Hands bytes to the reader; they are borrowed until passwd_reader_next()
 * returned 0 (all consumed). */
void passwd_reader_feed(struct passwd_reader *r, const char *data, size_t len);
/* Ends the input: a last line without LF counts. */
void passwd_reader_finish(struct passwd_reader *r);
/* Returns 1 with the next entry (*entry_r, caller clears it), 0 when more
 * input is needed (or the input ended), -1 with *error_r for a malformed line
 * (*line_r says which; the reader has moved past it and may be called
 * again). */
int passwd_reader_next(struct passwd_reader *r, struct passwd_entry *entry_r,
	unsigned *line_r, const char **error_r);

#endif
