/* mailbox_list.h: the folders of one Maildir++ tree and its subscriptions,
 * in Dovecot's layout: INBOX is the root, every other folder is a
 * directory ".Name" at the root with '.' as the hierarchy separator
 * (".Archive.2024" is "Archive.2024"), an empty "maildirfolder" file in each;
 * subscriptions in "subscriptions" at the root ("V\t2\n\n" then one name per
 * line with TAB as the separator; Dovecot keeps subscriptions to folders that
 * no longer exist, and so do we). Everything blocks on the file system. */
#ifndef MAILSERVER_MAILBOX_LIST_H
#define MAILSERVER_MAILBOX_LIST_H

#include "postier.h"

#define MAILBOX_LIST_SEPARATOR '.'

struct mailbox_names {
	char **names;
	unsigned int count, cap;
};

void mailbox_names_clear(struct mailbox_names *list);
bool mailbox_names_contains(const struct mailbox_names *list,
	const char *name);

/* Every folder, INBOX first, the rest sorted. Returns 0 or -1. */
int mailbox_list_folders(const char *root, struct mailbox_names *list_r,
	char **error_r);
/* Whether name has child folders in list. */
bool mailbox_list_has_children(const struct mailbox_names *list,
	const char *name);

/* Create (with parents' directories as Dovecot does not need them),
 * delete (refused while it has children, like Dovecot), rename (children
 * follow). Return 0, or -1 with *error_r (heap) naming the reason for the
 * client; *exists_r/ENOENT style detail is in the text. */
int mailbox_list_create(const char *root, const char *name, char **error_r);
int mailbox_list_delete(const char *root, const char *name, char **error_r);
int mailbox_list_rename(const char *root, const char *from, const char *to,
	char **error_r);

/* Subscriptions (names with '.' separators). */
int mailbox_subscriptions_read(const char *root, struct mailbox_names *list_r,
	char **error_r);
int mailbox_subscriptions_set(const char *root, const char *name,
	bool subscribe, char **error_r);

/* RFC 6154 attribute for the usual folder names, as Dovecot's default
 * namespace declares them (Drafts, Junk, Trash, Sent, "Sent Messages"),
 * plus Archive; NULL for others. */
const char *mailbox_list_special_use(const char *name);

/* Whether an IMAP LIST pattern ('*' any, '%' any but the separator) matches
 * name. INBOX is matched case-insensitively. */
bool mailbox_list_match(const char *pattern, const char *name);

#endif
