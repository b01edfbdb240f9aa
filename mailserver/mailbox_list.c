/* mailbox_list.c: folders and subscriptions of a Maildir++ tree (layout in
 * mailbox_list.h). */
#include "postier.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/xmalloc.h"
#include "mailbox.h"
#include "mailbox_list.h"

static void
mailbox_names_add(struct mailbox_names *l, const char *name)
{
	if (l->count == l->cap) {
		l->cap = l->cap == 0 ? 16 : l->cap * 2;
		l->names = xrealloc(l->names, l->cap * sizeof(*l->names));
	}
	l->names[l->count++] = xstrdup(name);
}

void
mailbox_names_clear(struct mailbox_names *l)
{
	for (unsigned int i = 0; i < l->count; i++)
		free(l->names[i]);
	free(l->names);
	memset(l, 0, sizeof(*l));
}

bool
mailbox_names_contains(const struct mailbox_names *l, const char *name)
{
	for (unsigned int i = 0; i < l->count; i++) {
		if (strcmp(l->names[i], name) == 0)
			return true;
	}
	return false;
}

static int
mailbox_str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
mailbox_list_folders(const char *root, struct mailbox_names *l, char **error_r)
{
	memset(l, 0, sizeof(*l));
	DIR *d = opendir(root);
	if (d == NULL) {
		*error_r = xasprintf("opendir(%s): %s", root, strerror(errno));
		return -1;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		const char *n = de->d_name;
		if (n[0] != '.' || n[1] == '\0' || n[1] == '#' ||
		    strcmp(n, "..") == 0)
			continue;
		/* a folder is a directory holding cur/ */
		char *cur = xasprintf("%s/%s/cur", root, n);
		struct stat st;
		bool ok = stat(cur, &st) == 0 && S_ISDIR(st.st_mode);
		free(cur);
		if (ok)
			mailbox_names_add(l, n + 1);
	}
	closedir(d);
	if (l->count > 1)
		qsort(l->names, l->count, sizeof(*l->names), mailbox_str_cmp);
	/* INBOX first */
	mailbox_names_add(l, "INBOX");
	char *inbox = l->names[l->count - 1];
	memmove(l->names + 1, l->names, (l->count - 1) * sizeof(*l->names));
	l->names[0] = inbox;
	return 0;
}

bool
mailbox_list_has_children(const struct mailbox_names *l, const char *name)
{
	size_t n = strlen(name);
	for (unsigned int i = 0; i < l->count; i++) {
		if (strncmp(l->names[i], name, n) == 0 &&
		    l->names[i][n] == MAILBOX_LIST_SEPARATOR)
			return true;
	}
	return false;
}

static int
mailbox_mkdir(const char *path, char **error_r)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		*error_r = xasprintf("mkdir(%s): %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
mailbox_list_create(const char *root, const char *name, char **error_r)
{
	struct buf path;
	buf_init(&path);
	if (strcasecmp(name, "INBOX") == 0) {
		*error_r = xstrdup("Mailbox already exists");
		buf_clear(&path);
		return -1;
	}
	if (mailbox_name_to_path(root, name, &path) < 0) {
		*error_r = xstrdup("Invalid mailbox name");
		buf_clear(&path);
		return -1;
	}
	if (mkdir(buf_data(&path), 0700) < 0) {
		*error_r = errno == EEXIST ? xstrdup("Mailbox already exists") :
			xasprintf("mkdir(%s): %s", buf_data(&path),
				strerror(errno));
		buf_clear(&path);
		return -1;
	}
	static const char *const subs[] = { "tmp", "new", "cur" };
	int ret = 0;
	for (size_t i = 0; i < N_ELEMENTS(subs) && ret == 0; i++) {
		char *sub = xasprintf("%s/%s", buf_data(&path), subs[i]);
		ret = mailbox_mkdir(sub, error_r);
		free(sub);
	}
	if (ret == 0) {
		char *mf = xasprintf("%s/maildirfolder", buf_data(&path));
		int fd = open(mf, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
		free(mf);
	}
	buf_clear(&path);
	return ret;
}

/* rm -r of a folder directory (files and one level of sub-directories:
 * tmp/new/cur; Maildir++ folders never nest directories deeper). */
static int
mailbox_rmtree(const char *path, int depth)
{
	DIR *d = opendir(path);
	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	struct dirent *de;
	int ret = 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char *p = xasprintf("%s/%s", path, de->d_name);
		struct stat st;
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			if (depth < 2 && mailbox_rmtree(p, depth + 1) < 0)
				ret = -1;
		} else if (unlink(p) < 0 && errno != ENOENT) {
			ret = -1;
		}
		free(p);
	}
	closedir(d);
	if (rmdir(path) < 0 && errno != ENOENT)
		ret = -1;
	return ret;
}

int
mailbox_list_delete(const char *root, const char *name, char **error_r)
{
	if (strcasecmp(name, "INBOX") == 0) {
		*error_r = xstrdup("INBOX can't be deleted.");
		return -1;
	}
	struct mailbox_names l;
	if (mailbox_list_folders(root, &l, error_r) < 0)
		return -1;
	bool exists = mailbox_names_contains(&l, name);
	bool children = mailbox_list_has_children(&l, name);
	mailbox_names_clear(&l);
	if (!exists) {
		*error_r = xstrdup("Mailbox doesn't exist");
		return -1;
	}
	if (children) {
		*error_r = xstrdup("Mailbox has children, delete them first");
		return -1;
	}
	struct buf path;
	buf_init(&path);
	(void)mailbox_name_to_path(root, name, &path);
	/* rename away first so other sessions never see half a folder */
	char *trash = xasprintf("%s/.#deleted.%s", root, name);
	int ret = 0;
	if (rename(buf_data(&path), trash) < 0 ||
	    mailbox_rmtree(trash, 0) < 0) {
		*error_r = xasprintf("delete(%s): %s", buf_data(&path),
			strerror(errno));
		ret = -1;
	}
	free(trash);
	buf_clear(&path);
	return ret;
}

int
mailbox_list_rename(const char *root, const char *from, const char *to,
	char **error_r)
{
	if (strcasecmp(from, "INBOX") == 0) {
		/* XXX: RFC 3501 6.3.5 INBOX rename moves its messages; not
		 * supported */
		*error_r = xstrdup("Renaming INBOX isn't supported");
		return -1;
	}
	struct buf pf, pt;
	buf_init(&pf);
	buf_init(&pt);
	if (mailbox_name_to_path(root, from, &pf) < 0 ||
	    mailbox_name_to_path(root, to, &pt) < 0 ||
	    strcasecmp(to, "INBOX") == 0) {
		*error_r = xstrdup("Invalid mailbox name");
		buf_clear(&pf);
		buf_clear(&pt);
		return -1;
	}
	struct mailbox_names l;
	if (mailbox_list_folders(root, &l, error_r) < 0) {
		buf_clear(&pf);
		buf_clear(&pt);
		return -1;
	}
	int ret = 0;
	/* a parent that is no folder itself (\Noselect) renames its children */
	bool exists = mailbox_names_contains(&l, from);
	if (!exists && !mailbox_list_has_children(&l, from)) {
		*error_r = xstrdup("Mailbox doesn't exist");
		ret = -1;
	} else if (mailbox_names_contains(&l, to)) {
		*error_r = xstrdup("Target mailbox already exists");
		ret = -1;
	} else if (exists && rename(buf_data(&pf), buf_data(&pt)) < 0) {
		*error_r = xasprintf("rename(%s): %s", buf_data(&pf),
			strerror(errno));
		ret = -1;
	}
	/* children follow: "from.x" -> "to.x" */
	size_t n = strlen(from);
	for (unsigned int i = 0; ret == 0 && i < l.count; i++) {
		const char *c = l.names[i];
		if (strncmp(c, from, n) != 0 || c[n] != MAILBOX_LIST_SEPARATOR)
			continue;
		char *a = xasprintf("%s/.%s", root, c);
		char *b = xasprintf("%s/.%s%s", root, to, c + n);
		if (rename(a, b) < 0) {
			*error_r = xasprintf("rename(%s): %s", a,
				strerror(errno));
			ret = -1;
		}
		free(a);
		free(b);
	}
	mailbox_names_clear(&l);
	buf_clear(&pf);
	buf_clear(&pt);
	return ret;
}

int
mailbox_subscriptions_read(const char *root, struct mailbox_names *l,
	char **error_r)
{
	memset(l, 0, sizeof(*l));
	char *path = xasprintf("%s/subscriptions", root);
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		int err = errno;
		if (err != ENOENT)
			*error_r = xasprintf("open(%s): %s", path, strerror(err));
		free(path);
		return err == ENOENT ? 0 : -1;
	}
	free(path);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	bool first = true;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if (first) {
			first = false;
			/* Dovecot 2.x: "V\t2" header, then an empty line */
			if (line[0] == 'V' && line[1] == '\t')
				continue;
		}
		if (n == 0)
			continue;
		for (char *p = line; *p != '\0'; p++) {
			if (*p == '\t')
				*p = MAILBOX_LIST_SEPARATOR;
		}
		if (!mailbox_names_contains(l, line))
			mailbox_names_add(l, line);
	}
	free(line);
	fclose(f);
	return 0;
}

int
mailbox_subscriptions_set(const char *root, const char *name, bool subscribe,
	char **error_r)
{
	struct mailbox_names l;
	if (mailbox_subscriptions_read(root, &l, error_r) < 0)
		return -1;
	bool has = mailbox_names_contains(&l, name);
	if (has == subscribe) {
		mailbox_names_clear(&l);
		return 0;
	}
	struct buf out;
	buf_init(&out);
	buf_append_str(&out, "V\t2\n\n");
	for (unsigned int i = 0; i < l.count; i++) {
		if (!subscribe && strcmp(l.names[i], name) == 0)
			continue;
		for (const char *p = l.names[i]; *p != '\0'; p++) {
			buf_append_char(&out, *p == MAILBOX_LIST_SEPARATOR ?
				'\t' : *p);
		}
		buf_append_char(&out, '\n');
	}
	if (subscribe) {
		for (const char *p = name; *p != '\0'; p++)
			buf_append_char(&out, *p == MAILBOX_LIST_SEPARATOR ?
				'\t' : *p);
		buf_append_char(&out, '\n');
	}
	mailbox_names_clear(&l);
	char *tmp = xasprintf("%s/subscriptions.lock", root);
	char *path = xasprintf("%s/subscriptions", root);
	int ret = -1;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		if (write(fd, buf_data(&out), buf_len(&out)) ==
		    (ssize_t)buf_len(&out) && fsync(fd) == 0 &&
		    rename(tmp, path) == 0)
			ret = 0;
		close(fd);
	}
	if (ret < 0) {
		*error_r = xasprintf("writing %s: %s", path, strerror(errno));
		(void)unlink(tmp);
	}
	free(tmp);
	free(path);
	buf_clear(&out);
	return ret;
}

const char *
mailbox_list_special_use(const char *name)
{
	static const struct {
		const char *name, *use;
	} uses[] = {
		{ "Drafts", "\\Drafts" }, { "Junk", "\\Junk" },
		{ "Trash", "\\Trash" }, { "Sent", "\\Sent" },
		{ "Sent Messages", "\\Sent" }, { "Archive", "\\Archive" },
	};
	for (size_t i = 0; i < N_ELEMENTS(uses); i++) {
		if (strcmp(name, uses[i].name) == 0)
			return uses[i].use;
	}
	return NULL;
}

static bool
mailbox_match_at(const char *p, const char *n)
{
	for (; *p != '\0'; p++, n++) {
		if (*p == '*' || *p == '%') {
			for (const char *k = n;; k++) {
				if (mailbox_match_at(p + 1, k))
					return true;
				if (*k == '\0' ||
				    (*p == '%' && *k == MAILBOX_LIST_SEPARATOR))
					return false;
			}
		}
		if (*p != *n)
			return false;
	}
	return *n == '\0';
}

bool
mailbox_list_match(const char *pattern, const char *name)
{
	if (strcasecmp(name, "INBOX") == 0 && strncasecmp(pattern, "INBOX", 5) == 0) {
		return mailbox_match_at(pattern + 5, name + 5);
	}
	return mailbox_match_at(pattern, name);
}
