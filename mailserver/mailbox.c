/* mailbox.c: scanning a Maildir folder, UIDs from dovecot-uidlist, flags
 * in file names, dovecot-keywords, appends and copies (see mailbox.h).
 * Left out: Dovecot's binary index files (never read, never needed: they
 * are caches Dovecot rebuilds) and maildirsize quota accounting. */
#include "postier.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/xmalloc.h"
#include "mailbox.h"
#include "mailbox_uidlist.h"

#define MAILBOX_LOCK_TIMEOUT_MS 10000

/* Maildir info flag letters in ASCII order (Dovecot writes them sorted). */
static const struct {
	char letter;
	unsigned int flag;
} mailbox_letters[] = {
	{ 'D', MAILBOX_FLAG_DRAFT },
	{ 'F', MAILBOX_FLAG_FLAGGED },
	{ 'P', MAILBOX_FLAG_PASSED },
	{ 'R', MAILBOX_FLAG_ANSWERED },
	{ 'S', MAILBOX_FLAG_SEEN },
	{ 'T', MAILBOX_FLAG_DELETED },
};

int
mailbox_name_to_path(const char *root, const char *name, struct buf *path)
{
	buf_reset(path);
	if (strcasecmp(name, "INBOX") == 0) {
		buf_append_str(path, root);
		return 0;
	}
	size_t len = strlen(name);
	if (len == 0 || len > 255 || name[0] == '.' || name[len - 1] == '.' ||
	    strstr(name, "..") != NULL || strchr(name, '/') != NULL)
		return -1;
	for (const char *p = name; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return -1;
	}
	buf_printf(path, "%s/.%s", root, name);
	return 0;
}

static void
mailbox_msg_clear(struct mailbox_msg *m)
{
	free(m->name);
	m->name = NULL;
}

void
mailbox_free(struct mailbox **boxp)
{
	struct mailbox *box = *boxp;
	if (box == NULL)
		return;
	for (unsigned int i = 0; i < box->count; i++)
		mailbox_msg_clear(&box->msgs[i]);
	free(box->msgs);
	for (unsigned int i = 0; i < box->n_keywords; i++)
		free(box->keywords[i]);
	free(box->root);
	free(box->name);
	free(box->path);
	free(box);
	*boxp = NULL;
}

void
mailbox_changes_clear(struct mailbox_changes *ch)
{
	free(ch->expunged);
	free(ch->flag_changed);
	memset(ch, 0, sizeof(*ch));
}

/* Reads ",S=" / ",W=" values from a base name. */
static uint64_t
mailbox_name_field(const char *name, size_t base_len, char field)
{
	char pat[4] = { ',', field, '=', '\0' };
	const char *p = name;
	while ((p = strstr(p, pat)) != NULL && (size_t)(p - name) < base_len) {
		p += 3;
		uint64_t n = 0;
		bool any = false;
		while (*p >= '0' && *p <= '9') {
			n = n * 10 + (uint64_t)(*p++ - '0');
			any = true;
		}
		if (any)
			return n;
	}
	return 0;
}

/* Fills flags from name's ":2," info part. */
static void
mailbox_parse_name(struct mailbox_msg *m)
{
	const char *name = m->name;
	const char *colon = strchr(name, ':');
	m->base_len = (uint32_t)(colon != NULL ? (size_t)(colon - name) :
		strlen(name));
	m->flags = 0;
	m->keywords = 0;
	if (colon != NULL && colon[1] == '2' && colon[2] == ',') {
		for (const char *p = colon + 3; *p != '\0'; p++) {
			if (*p >= 'a' && *p <= 'z') {
				m->keywords |= 1u << (*p - 'a');
				continue;
			}
			for (size_t i = 0; i < N_ELEMENTS(mailbox_letters); i++) {
				if (mailbox_letters[i].letter == *p)
					m->flags |= mailbox_letters[i].flag;
			}
		}
	}
	m->size = mailbox_name_field(name, m->base_len, 'S');
	m->vsize = mailbox_name_field(name, m->base_len, 'W');
}

/* dovecot-keywords: "<n> <name>" per line. */
static void
mailbox_keywords_read(struct mailbox *box)
{
	for (unsigned int i = 0; i < box->n_keywords; i++) {
		free(box->keywords[i]);
		box->keywords[i] = NULL;
	}
	box->n_keywords = 0;
	char *path = xasprintf("%s/dovecot-keywords", box->path);
	FILE *f = fopen(path, "r");
	free(path);
	if (f == NULL)
		return;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		char *end;
		unsigned long idx = strtoul(line, &end, 10);
		if (end == line || *end != ' ' || idx >= MAILBOX_MAX_KEYWORDS ||
		    end[1] == '\0')
			continue;
		free(box->keywords[idx]);
		box->keywords[idx] = xstrdup(end + 1);
		if (idx + 1 > box->n_keywords)
			box->n_keywords = (unsigned int)idx + 1;
	}
	free(line);
	fclose(f);
}

static int
mailbox_keywords_write(struct mailbox *box)
{
	struct buf out;
	buf_init(&out);
	for (unsigned int i = 0; i < box->n_keywords; i++) {
		if (box->keywords[i] != NULL)
			buf_printf(&out, "%u %s\n", i, box->keywords[i]);
	}
	char *tmp = xasprintf("%s/dovecot-keywords.lock", box->path);
	char *path = xasprintf("%s/dovecot-keywords", box->path);
	int ret = -1;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0) {
		if (write(fd, buf_data(&out), buf_len(&out)) ==
		    (ssize_t)buf_len(&out) && fsync(fd) == 0 &&
		    rename(tmp, path) == 0)
			ret = 0;
		else
			(void)unlink(tmp);
		close(fd);
	}
	free(tmp);
	free(path);
	buf_clear(&out);
	return ret;
}

int
mailbox_keyword_index(struct mailbox *box, const char *name, bool create)
{
	for (unsigned int i = 0; i < box->n_keywords; i++) {
		if (box->keywords[i] != NULL &&
		    strcasecmp(box->keywords[i], name) == 0)
			return (int)i;
	}
	if (!create)
		return -1;
	/* someone may have added it meanwhile */
	mailbox_keywords_read(box);
	for (unsigned int i = 0; i < box->n_keywords; i++) {
		if (box->keywords[i] != NULL &&
		    strcasecmp(box->keywords[i], name) == 0)
			return (int)i;
	}
	unsigned int idx = 0;
	while (idx < box->n_keywords && box->keywords[idx] != NULL)
		idx++;
	if (idx >= MAILBOX_MAX_KEYWORDS)
		return -1;
	box->keywords[idx] = xstrdup(name);
	if (idx >= box->n_keywords)
		box->n_keywords = idx + 1;
	if (mailbox_keywords_write(box) < 0) {
		free(box->keywords[idx]);
		box->keywords[idx] = NULL;
		return -1;
	}
	return (int)idx;
}

/* A scanned file. */
struct mailbox_entry {
	char *name;
	size_t base_len;
	bool in_new;
	bool recent;     /* moved from new/ by this scan, or still in new/ */
};

static int
mailbox_entry_cmp(const void *a, const void *b)
{
	const struct mailbox_entry *x = a, *y = b;
	size_t n = x->base_len < y->base_len ? x->base_len : y->base_len;
	int c = memcmp(x->name, y->name, n);
	if (c != 0)
		return c;
	return x->base_len < y->base_len ? -1 : x->base_len > y->base_len;
}

struct mailbox_scan {
	struct mailbox_entry *e;
	unsigned int count, cap;
};

static void
mailbox_scan_add(struct mailbox_scan *s, const char *name, bool in_new,
	bool recent)
{
	if (s->count == s->cap) {
		s->cap = s->cap == 0 ? 64 : s->cap * 2;
		s->e = xrealloc(s->e, s->cap * sizeof(*s->e));
	}
	struct mailbox_entry *e = &s->e[s->count++];
	e->name = xstrdup(name);
	e->base_len = strcspn(name, ":");
	e->in_new = in_new;
	e->recent = recent;
}

static void
mailbox_scan_clear(struct mailbox_scan *s)
{
	for (unsigned int i = 0; i < s->count; i++)
		free(s->e[i].name);
	free(s->e);
	memset(s, 0, sizeof(*s));
}

/* Sorts by base name and merges duplicates (a file moved from new/ to cur/
 * while we read both): the cur/ name wins, \Recent is kept. */
static void
mailbox_scan_sort(struct mailbox_scan *s)
{
	if (s->count == 0)
		return;
	qsort(s->e, s->count, sizeof(*s->e), mailbox_entry_cmp);
	unsigned int n = 0;
	for (unsigned int i = 0; i < s->count; i++) {
		if (n > 0 && mailbox_entry_cmp(&s->e[n - 1], &s->e[i]) == 0) {
			struct mailbox_entry *keep = &s->e[n - 1];
			bool recent = keep->recent || s->e[i].recent;
			if (keep->in_new && !s->e[i].in_new) {
				free(keep->name);
				*keep = s->e[i];
			} else {
				free(s->e[i].name);
			}
			keep->recent = recent;
			continue;
		}
		s->e[n++] = s->e[i];
	}
	s->count = n;
}

/* Reads new/ (moving it to cur/ unless read-only) and cur/. */
static int
mailbox_scan_dirs(struct mailbox *box, struct mailbox_scan *s,
	char **error_r)
{
	struct buf from, to;
	buf_init(&from);
	buf_init(&to);
	for (int pass = 0; pass < 2; pass++) {
		bool is_new = pass == 0;
		char *dir = xasprintf("%s/%s", box->path, is_new ? "new" :
			"cur");
		DIR *d = opendir(dir);
		if (d == NULL) {
			*error_r = xasprintf("opendir(%s): %s", dir,
				strerror(errno));
			free(dir);
			buf_clear(&from);
			buf_clear(&to);
			return -1;
		}
		struct dirent *de;
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			if (!is_new) {
				mailbox_scan_add(s, de->d_name, false, false);
				continue;
			}
			if (box->readonly) {
				mailbox_scan_add(s, de->d_name, true, true);
				continue;
			}
			/* Dovecot moves new/ to cur/ when a session sees
			 * the message: "name" -> "name:2," */
			buf_reset(&from);
			buf_printf(&from, "%s/new/%s", box->path, de->d_name);
			buf_reset(&to);
			buf_printf(&to, "%s%s", de->d_name,
				strchr(de->d_name, ':') != NULL ? "" : ":2,");
			char *dst = xasprintf("%s/cur/%s", box->path,
				buf_data(&to));
			if (rename(buf_data(&from), dst) == 0)
				mailbox_scan_add(s, buf_data(&to), false, true);
			/* on ENOENT another process moved it: cur/ has it */
			free(dst);
		}
		closedir(d);
		free(dir);
	}
	buf_clear(&from);
	buf_clear(&to);
	mailbox_scan_sort(s);
	return 0;
}

static int
mailbox_rec_cmp(const void *a, const void *b)
{
	const struct uidlist_rec *x = a, *y = b;
	return strcmp(x->base, y->base);
}

/* Looks base up in recs sorted by base. */
static const struct uidlist_rec *
mailbox_rec_find(const struct uidlist_rec *sorted, unsigned int count,
	const char *name, size_t base_len)
{
	unsigned int lo = 0, hi = count;
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		const char *b = sorted[mid].base;
		int c = strncmp(b, name, base_len);
		if (c == 0 && b[base_len] != '\0')
			c = 1;
		if (c == 0)
			return &sorted[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* A new folder's UIDVALIDITY, as Dovecot picks it (its
 * mailbox-uidvalidity.c): the root's dovecot-uidvalidity holds the last
 * value given (8 hex digits); the next is max(last + 1, now), so a folder
 * deleted and created again within a second still gets a new one (RFC 3501
 * 2.3.1.1). An empty dovecot-uidvalidity.<hex> names the last value too:
 * renaming it to the new name is the atomic step two processes cannot both
 * win; the loser tries again with the value the winner left. */
static uint32_t
mailbox_next_uidvalidity(const char *root)
{
	uint32_t now = (uint32_t)time(NULL);
	for (int attempt = 0; attempt < 10; attempt++) {
		uint32_t last = 0;
		char *path = xasprintf("%s/dovecot-uidvalidity", root);
		FILE *f = fopen(path, "r");
		if (f != NULL) {
			unsigned int v;
			if (fscanf(f, "%8x", &v) == 1)
				last = v;
			fclose(f);
		}
		uint32_t next = last + 1 > now ? last + 1 : now;
		char *old_name = xasprintf("%s/dovecot-uidvalidity.%08x", root,
			last);
		char *new_name = xasprintf("%s/dovecot-uidvalidity.%08x", root,
			next);
		bool won;
		if (last != 0 && access(old_name, F_OK) == 0) {
			won = rename(old_name, new_name) == 0;
		} else {
			int fd = open(new_name, O_WRONLY | O_CREAT | O_EXCL |
				O_CLOEXEC, 0600);
			won = fd >= 0;
			if (fd >= 0)
				close(fd);
		}
		if (won) {
			char *tmp = xasprintf("%s.%lu.tmp", path,
				(unsigned long)getpid());
			f = fopen(tmp, "w");
			if (f != NULL) {
				fprintf(f, "%08x", next);
				if (fclose(f) == 0)
					(void)rename(tmp, path);
				else
					(void)unlink(tmp);
			}
			free(tmp);
		}
		free(old_name);
		free(new_name);
		free(path);
		if (won)
			return next;
	}
	/* a root we cannot write to: still a usable value */
	return now;
}

static void
mailbox_new_guid(char out[33])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[16];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, raw, sizeof(raw)) != (ssize_t)sizeof(raw)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		for (size_t i = 0; i < sizeof(raw); i++)
			raw[i] = (unsigned char)((ts.tv_nsec >> (i % 4 * 8)) ^
				(getpid() >> (i % 2 * 8)) ^ (int)i);
	}
	if (fd >= 0)
		close(fd);
	for (size_t i = 0; i < sizeof(raw); i++) {
		out[i * 2] = hex[raw[i] >> 4];
		out[i * 2 + 1] = hex[raw[i] & 15];
	}
	out[32] = '\0';
}

/* Gives UIDs to entries without one: under the lock, re-read the list,
 * append the missing names (in name order: names start with the delivery
 * time) and write it back. ul holds the list as written. */
static int
mailbox_assign_uids(struct mailbox *box, const struct mailbox_scan *s,
	struct uidlist *ul, char **error_r)
{
	int fd = uidlist_lock(box->path, MAILBOX_LOCK_TIMEOUT_MS, error_r);
	if (fd < 0)
		return -1;
	int ret = uidlist_read(box->path, ul, error_r);
	if (ret < 0) {
		uidlist_unlock(box->path, fd);
		return -1;
	}
	if (ret == 0 || ul->uidvalidity == 0) {
		char guid[33];
		mailbox_new_guid(guid);
		ul->uidvalidity = mailbox_next_uidvalidity(box->root);
		if (ul->guid == NULL)
			ul->guid = xstrdup(guid);
	}
	struct uidlist_rec *sorted = xmalloc((ul->count + 1) * sizeof(*sorted));
	if (ul->count > 0)
		memcpy(sorted, ul->recs, ul->count * sizeof(*sorted));
	qsort(sorted, ul->count, sizeof(*sorted), mailbox_rec_cmp);
	unsigned int n_sorted = ul->count;
	uint32_t next = uidlist_next_uid(ul);
	unsigned int added = 0;
	for (unsigned int i = 0; i < s->count; i++) {
		const struct mailbox_entry *e = &s->e[i];
		if (mailbox_rec_find(sorted, n_sorted, e->name, e->base_len))
			continue;
		uidlist_add(ul, next++, e->name, e->base_len, NULL);
		added++;
	}
	free(sorted);
	ul->nextuid = next;
	if (added == 0 && ret > 0) {
		uidlist_unlock(box->path, fd);
		return 0;
	}
	return uidlist_commit(box->path, fd, ul, error_r);
}

static int
mailbox_msg_uid_cmp(const void *a, const void *b)
{
	const struct mailbox_msg *x = a, *y = b;
	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static void
mailbox_dir_mtimes(const struct mailbox *box, struct timespec *new_r,
	struct timespec *cur_r)
{
	struct stat st;
	char *p = xasprintf("%s/new", box->path);
	memset(new_r, 0, sizeof(*new_r));
	memset(cur_r, 0, sizeof(*cur_r));
	if (stat(p, &st) == 0)
		*new_r = st.st_mtim;
	free(p);
	p = xasprintf("%s/cur", box->path);
	if (stat(p, &st) == 0)
		*cur_r = st.st_mtim;
	free(p);
}

bool
mailbox_needs_sync(struct mailbox *box)
{
	struct timespec n, c;
	mailbox_dir_mtimes(box, &n, &c);
	return n.tv_sec != box->new_mtime.tv_sec ||
		n.tv_nsec != box->new_mtime.tv_nsec ||
		c.tv_sec != box->cur_mtime.tv_sec ||
		c.tv_nsec != box->cur_mtime.tv_nsec;
}

static int
mailbox_sync_view(struct mailbox *box, struct mailbox_changes *ch,
	bool keep_expunged, char **error_r)
{
	struct mailbox_scan s = { 0 };
	/* taken before the scan: a change during it is seen next time */
	mailbox_dir_mtimes(box, &box->new_mtime, &box->cur_mtime);
	if (ch != NULL) {
		memset(ch, 0, sizeof(*ch));
		ch->old_count = box->count;
	}
	if (mailbox_scan_dirs(box, &s, error_r) < 0)
		return -1;
	struct uidlist ul;
	uidlist_init(&ul);
	int ret = uidlist_read(box->path, &ul, error_r);
	if (ret < 0) {
		mailbox_scan_clear(&s);
		return -1;
	}
	/* which files have no UID yet? */
	struct uidlist_rec *sorted = xmalloc((ul.count + 1) * sizeof(*sorted));
	if (ul.count > 0)
		memcpy(sorted, ul.recs, ul.count * sizeof(*sorted));
	qsort(sorted, ul.count, sizeof(*sorted), mailbox_rec_cmp);
	bool missing = ret == 0;
	for (unsigned int i = 0; i < s.count && !missing; i++) {
		if (mailbox_rec_find(sorted, ul.count, s.e[i].name,
				     s.e[i].base_len) == NULL)
			missing = true;
	}
	if (missing) {
		free(sorted);
		if (mailbox_assign_uids(box, &s, &ul, error_r) < 0) {
			uidlist_clear(&ul);
			mailbox_scan_clear(&s);
			return -1;
		}
		sorted = xmalloc((ul.count + 1) * sizeof(*sorted));
		if (ul.count > 0)
			memcpy(sorted, ul.recs, ul.count * sizeof(*sorted));
		qsort(sorted, ul.count, sizeof(*sorted), mailbox_rec_cmp);
	}
	/* the new view, ordered by UID */
	struct mailbox_msg *msgs = xcalloc(s.count + 1, sizeof(*msgs));
	unsigned int n = 0;
	for (unsigned int i = 0; i < s.count; i++) {
		const struct uidlist_rec *r = mailbox_rec_find(sorted,
			ul.count, s.e[i].name, s.e[i].base_len);
		if (r == NULL)
			continue; /* appeared after the lock: next sync */
		struct mailbox_msg *m = &msgs[n++];
		m->uid = r->uid;
		m->name = s.e[i].name;
		s.e[i].name = NULL;
		m->in_new = s.e[i].in_new;
		mailbox_parse_name(m);
		if (s.e[i].recent)
			m->flags |= MAILBOX_FLAG_RECENT;
	}
	qsort(msgs, n, sizeof(*msgs), mailbox_msg_uid_cmp);
	uint32_t old_validity = box->uidvalidity;
	bool reset = old_validity != 0 && old_validity != ul.uidvalidity;
	if (reset && keep_expunged) {
		/* every message would be expunged: leave the view as it is
		 * and forget the mtimes, so the next sync looks again */
		for (unsigned int k = 0; k < n; k++)
			mailbox_msg_clear(&msgs[k]);
		free(msgs);
		free(sorted);
		uidlist_clear(&ul);
		mailbox_scan_clear(&s);
		memset(&box->new_mtime, 0, sizeof(box->new_mtime));
		memset(&box->cur_mtime, 0, sizeof(box->cur_mtime));
		return 0;
	}
	box->uidvalidity = ul.uidvalidity;
	box->uidnext = uidlist_next_uid(&ul);
	free(sorted);
	uidlist_clear(&ul);
	mailbox_scan_clear(&s);

	/* compare with the old view; the new view is the scan plus (when
	 * keep_expunged) the old messages that vanished, in UID order */
	struct mailbox_msg *view = xcalloc(n + box->count + 1, sizeof(*view));
	unsigned int i = 0, j = 0, v = 0, held = 0;
	while (i < box->count || j < n) {
		struct mailbox_msg *o = i < box->count ? &box->msgs[i] : NULL;
		struct mailbox_msg *m = j < n ? &msgs[j] : NULL;
		if (o != NULL && (m == NULL || o->uid < m->uid || reset)) {
			if (keep_expunged) {
				view[v] = *o;
				view[v++].expunged = true;
				o->name = NULL; /* moved */
				held++;
			} else if (ch != NULL) {
				ch->expunged = xrealloc(ch->expunged,
					(ch->n_expunged + 1) * sizeof(uint32_t));
				ch->expunged[ch->n_expunged++] = i + 1;
			}
			i++;
			continue;
		}
		if (o != NULL && o->uid == m->uid) {
			/* keep what was learnt; \Recent stays this session's */
			if (m->size == 0)
				m->size = o->size;
			if (m->vsize == 0)
				m->vsize = o->vsize;
			m->mtime = o->mtime;
			m->flags |= o->flags & MAILBOX_FLAG_RECENT;
			if (ch != NULL && (o->flags != m->flags ||
					   o->keywords != m->keywords)) {
				ch->flag_changed = xrealloc(ch->flag_changed,
					(ch->n_flag_changed + 1) *
					sizeof(uint32_t));
				ch->flag_changed[ch->n_flag_changed++] = v + 1;
			}
			view[v++] = *m;
			i++;
			j++;
			continue;
		}
		view[v++] = *m; /* a new message */
		j++;
	}
	free(msgs); /* the names moved to view */
	if (ch != NULL && ch->n_expunged > 1) {
		/* descending, so each number is valid when it is sent */
		for (unsigned int a = 0, b = ch->n_expunged - 1; a < b; a++, b--) {
			uint32_t t = ch->expunged[a];
			ch->expunged[a] = ch->expunged[b];
			ch->expunged[b] = t;
		}
	}
	for (unsigned int k = 0; k < box->count; k++)
		mailbox_msg_clear(&box->msgs[k]);
	free(box->msgs);
	box->msgs = view;
	box->count = box->cap = v;
	box->held_expunges = held;
	box->recent_count = 0;
	for (unsigned int k = 0; k < v; k++) {
		if ((view[k].flags & MAILBOX_FLAG_RECENT) != 0)
			box->recent_count++;
	}
	unsigned int old_kw = box->n_keywords;
	mailbox_keywords_read(box);
	if (ch != NULL && box->n_keywords != old_kw)
		ch->keywords_changed = true;
	return 0;
}

int
mailbox_sync(struct mailbox *box, struct mailbox_changes *ch, char **error_r)
{
	return mailbox_sync_view(box, ch, false, error_r);
}

int
mailbox_sync_no_expunges(struct mailbox *box, struct mailbox_changes *ch,
	char **error_r)
{
	return mailbox_sync_view(box, ch, true, error_r);
}

int
mailbox_open(const char *root, const char *name, bool readonly,
	struct mailbox **box_r, char **error_r)
{
	struct buf path;
	buf_init(&path);
	if (mailbox_name_to_path(root, name, &path) < 0) {
		buf_clear(&path);
		return 0;
	}
	char *cur = xasprintf("%s/cur", buf_data(&path));
	struct stat st;
	int ret = stat(cur, &st);
	int err = errno;
	free(cur);
	if (ret < 0) {
		if (err == ENOENT || err == ENOTDIR) {
			buf_clear(&path);
			return 0;
		}
		*error_r = xasprintf("stat(%s/cur): %s", buf_data(&path),
			strerror(err));
		buf_clear(&path);
		return -1;
	}
	struct mailbox *box = xcalloc(1, sizeof(*box));
	box->root = xstrdup(root);
	box->name = xstrdup(strcasecmp(name, "INBOX") == 0 ? "INBOX" : name);
	box->path = buf_steal(&path);
	box->readonly = readonly;
	/* a folder copied without new/ or tmp/: recreate them */
	char *d = xasprintf("%s/new", box->path);
	(void)mkdir(d, 0700);
	free(d);
	d = xasprintf("%s/tmp", box->path);
	(void)mkdir(d, 0700);
	free(d);
	if (mailbox_sync(box, NULL, error_r) < 0) {
		mailbox_free(&box);
		return -1;
	}
	*box_r = box;
	return 1;
}

int
mailbox_find_uid(const struct mailbox *box, uint32_t uid)
{
	unsigned int lo = 0, hi = box->count;
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		if (box->msgs[mid].uid == uid)
			return (int)mid;
		if (box->msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

void
mailbox_msg_path(const struct mailbox *box, unsigned int i, struct buf *path)
{
	const struct mailbox_msg *m = &box->msgs[i];
	buf_reset(path);
	buf_printf(path, "%s/%s/%s", box->path, m->in_new ? "new" : "cur",
		m->name);
}

/* Message i's file is not where we saw it: another process changed its
 * flags (renamed it) or moved it from new/ to cur/. Finds it again by its
 * base name, as Dovecot does. Returns 1 (name updated; the flags in the view
 * stay, so the next sync reports the change), 0 when it is really gone. */
static int
mailbox_msg_relocate(struct mailbox *box, unsigned int i)
{
	struct mailbox_msg *m = &box->msgs[i];
	if (m->expunged)
		return 0; /* the last scan found it gone: no second look */
	for (int pass = 0; pass < 2; pass++) {
		const char *sub = pass == 0 ? "cur" : "new";
		char *dir = xasprintf("%s/%s", box->path, sub);
		DIR *d = opendir(dir);
		free(dir);
		if (d == NULL)
			continue;
		struct dirent *de;
		while ((de = readdir(d)) != NULL) {
			if (strncmp(de->d_name, m->name, m->base_len) != 0 ||
			    (de->d_name[m->base_len] != '\0' &&
			     de->d_name[m->base_len] != ':'))
				continue;
			free(m->name);
			m->name = xstrdup(de->d_name);
			m->in_new = pass == 1;
			closedir(d);
			return 1;
		}
		closedir(d);
	}
	return 0;
}

/* Whether preadv2(RWF_NOWAIT) works for files here (Linux 4.14+); cleared
 * the first time the kernel or file system says it does not. */
static atomic_bool mailbox_nowait_supported = true;

static int
mailbox_msg_read_fd(struct mailbox *box, unsigned int i, struct buf *out,
	bool nowait)
{
	struct buf path;
	buf_init(&path);
	mailbox_msg_path(box, i, &path);
	int fd = open(buf_data(&path), O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && mailbox_msg_relocate(box, i) > 0) {
		mailbox_msg_path(box, i, &path);
		fd = open(buf_data(&path), O_RDONLY | O_CLOEXEC);
	}
	buf_clear(&path);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	struct stat st;
	size_t want = 65536;
	if (fstat(fd, &st) == 0) {
		box->msgs[i].size = (uint64_t)st.st_size;
		box->msgs[i].mtime = st.st_mtime;
		/* one allocation for the whole file, room for the EOF read */
		if (st.st_size > 0 && (uint64_t)st.st_size < SIZE_MAX / 4)
			want = (size_t)st.st_size + 1;
	}
	size_t start = out->len;
	(void)buf_reserve(out, want);
	for (;;) {
		if (out->cap - out->len <= 1)
			(void)buf_reserve(out, 65536);
		ssize_t n;
		if (nowait && mailbox_nowait_supported) {
			struct iovec iov = {
				.iov_base = out->data + out->len,
				.iov_len = out->cap - out->len - 1,
			};
			n = preadv2(fd, &iov, 1, (off_t)(out->len - start),
				RWF_NOWAIT);
			if (n < 0 && (errno == EOPNOTSUPP || errno == ENOSYS ||
				      errno == EINVAL)) {
				mailbox_nowait_supported = false;
				continue;
			}
			if (n < 0 && errno == EAGAIN) {
				/* not in the page cache: the disk would wait */
				buf_truncate(out, start);
				close(fd);
				return MAILBOX_WOULD_BLOCK;
			}
		} else {
			n = read(fd, out->data + out->len,
				out->cap - out->len - 1);
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		buf_commit(out, (size_t)n);
	}
	close(fd);
	return 1;
}

int
mailbox_msg_read(struct mailbox *box, unsigned int i, struct buf *out)
{
	return mailbox_msg_read_fd(box, i, out, false);
}

int
mailbox_msg_read_cached(struct mailbox *box, unsigned int i, struct buf *out)
{
	return mailbox_msg_read_fd(box, i, out, true);
}

static int
mailbox_msg_stat(struct mailbox *box, unsigned int i)
{
	struct buf path;
	buf_init(&path);
	mailbox_msg_path(box, i, &path);
	struct stat st;
	int ret = stat(buf_data(&path), &st);
	if (ret < 0 && errno == ENOENT && mailbox_msg_relocate(box, i) > 0) {
		mailbox_msg_path(box, i, &path);
		ret = stat(buf_data(&path), &st);
	}
	buf_clear(&path);
	if (ret < 0)
		return -1;
	box->msgs[i].size = (uint64_t)st.st_size;
	box->msgs[i].mtime = st.st_mtime;
	return 0;
}

int
mailbox_msg_size(struct mailbox *box, unsigned int i, uint64_t *size_r)
{
	if (box->msgs[i].size == 0 && mailbox_msg_stat(box, i) < 0)
		return -1;
	*size_r = box->msgs[i].size;
	return 0;
}

int
mailbox_msg_mtime(struct mailbox *box, unsigned int i, time_t *mtime_r)
{
	if (box->msgs[i].mtime == 0 && mailbox_msg_stat(box, i) < 0)
		return -1;
	*mtime_r = box->msgs[i].mtime;
	return 0;
}

int
mailbox_msg_vsize(struct mailbox *box, unsigned int i, uint64_t *vsize_r)
{
	struct mailbox_msg *m = &box->msgs[i];
	if (m->vsize == 0) {
		/* RFC822.SIZE counts CRLF line ends: add the bare LFs */
		struct buf body;
		buf_init(&body);
		if (mailbox_msg_read(box, i, &body) <= 0) {
			buf_clear(&body);
			return -1;
		}
		const char *d = buf_data(&body);
		uint64_t v = buf_len(&body);
		for (size_t k = 0; k < buf_len(&body); k++) {
			if (d[k] == '\n' && (k == 0 || d[k - 1] != '\r'))
				v++;
		}
		m->vsize = v;
		buf_clear(&body);
	}
	*vsize_r = m->vsize;
	return 0;
}

/* "base:2,<letters>" for flags and keywords. */
static void
mailbox_build_name(struct buf *out, const char *base, size_t base_len,
	unsigned int flags, uint32_t keywords)
{
	buf_append(out, base, base_len);
	buf_append_str(out, ":2,");
	for (size_t i = 0; i < N_ELEMENTS(mailbox_letters); i++) {
		if ((flags & mailbox_letters[i].flag) != 0)
			buf_append_char(out, mailbox_letters[i].letter);
	}
	for (int k = 0; k < MAILBOX_MAX_KEYWORDS; k++) {
		if ((keywords & (1u << k)) != 0)
			buf_append_char(out, (char)('a' + k));
	}
}

int
mailbox_set_flags(struct mailbox *box, unsigned int i, unsigned int flags,
	uint32_t keywords, char **error_r)
{
	struct mailbox_msg *m = &box->msgs[i];
	if (m->expunged)
		return 0;
	unsigned int stored = flags & MAILBOX_FLAGS_STORED;
	if (stored == (m->flags & MAILBOX_FLAGS_STORED) &&
	    keywords == m->keywords && !m->in_new) {
		m->flags = stored | (m->flags & MAILBOX_FLAG_RECENT);
		return 1;
	}
	struct buf name, from, to;
	buf_init(&name);
	buf_init(&from);
	buf_init(&to);
	mailbox_build_name(&name, m->name, m->base_len, stored, keywords);
	mailbox_msg_path(box, i, &from);
	buf_printf(&to, "%s/cur/%s", box->path, buf_data(&name));
	int ret = 1;
	int r = rename(buf_data(&from), buf_data(&to));
	if (r < 0 && errno == ENOENT && mailbox_msg_relocate(box, i) > 0) {
		mailbox_msg_path(box, i, &from);
		r = rename(buf_data(&from), buf_data(&to));
	}
	if (r < 0) {
		if (errno == ENOENT) {
			ret = 0;
		} else {
			*error_r = xasprintf("rename(%s): %s", buf_data(&from),
				strerror(errno));
			ret = -1;
		}
	} else {
		free(m->name);
		m->name = buf_steal(&name);
		m->in_new = false;
		m->flags = stored | (m->flags & MAILBOX_FLAG_RECENT);
		m->keywords = keywords;
	}
	buf_clear(&name);
	buf_clear(&from);
	buf_clear(&to);
	return ret;
}

int
mailbox_expunge(struct mailbox *box, unsigned int i, char **error_r)
{
	struct buf path;
	buf_init(&path);
	mailbox_msg_path(box, i, &path);
	int ret = 0;
	int r = unlink(buf_data(&path));
	if (r < 0 && errno == ENOENT && mailbox_msg_relocate(box, i) > 0) {
		mailbox_msg_path(box, i, &path);
		r = unlink(buf_data(&path));
	}
	if (r < 0 && errno != ENOENT) {
		*error_r = xasprintf("unlink(%s): %s", buf_data(&path),
			strerror(errno));
		ret = -1;
	}
	buf_clear(&path);
	return ret;
}

void
mailbox_new_base_name(struct buf *out)
{
	static unsigned long counter;
	struct timeval tv;
	gettimeofday(&tv, NULL);
	char host[256];
	if (gethostname(host, sizeof(host)) < 0)
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	/* '/' and ':' may not appear in a Maildir name (Maildir spec) */
	for (char *p = host; *p != '\0'; p++) {
		if (*p == '/' || *p == ':')
			*p = '_';
	}
	unsigned long n = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
	buf_printf(out, "%lld.M%ldP%dA%lu.%s", (long long)tv.tv_sec,
		(long)tv.tv_usec, (int)getpid(), n, host);
}

/* Gives file base (already in cur/) a UID under the uidlist lock, or finds
 * the one a concurrent sync gave it. */
static int
mailbox_uid_for(struct mailbox *box, const char *base, int lock_fd,
	uint32_t *uid_r, char **error_r)
{
	struct uidlist ul;
	uidlist_init(&ul);
	int ret = uidlist_read(box->path, &ul, error_r);
	if (ret < 0) {
		uidlist_unlock(box->path, lock_fd);
		return -1;
	}
	if (ret == 0 || ul.uidvalidity == 0) {
		char guid[33];
		mailbox_new_guid(guid);
		ul.uidvalidity = mailbox_next_uidvalidity(box->root);
		ul.guid = xstrdup(guid);
	}
	for (unsigned int i = 0; i < ul.count; i++) {
		if (strcmp(ul.recs[i].base, base) == 0) {
			*uid_r = ul.recs[i].uid;
			box->uidvalidity = ul.uidvalidity;
			uidlist_unlock(box->path, lock_fd);
			uidlist_clear(&ul);
			return 0;
		}
	}
	*uid_r = uidlist_next_uid(&ul);
	uidlist_add(&ul, *uid_r, base, strlen(base), NULL);
	ul.nextuid = *uid_r + 1;
	box->uidvalidity = ul.uidvalidity;
	ret = uidlist_commit(box->path, lock_fd, &ul, error_r);
	uidlist_clear(&ul);
	return ret;
}

/* Puts the file at tmp_path into box's cur/ under base with flags, and
 * gives it a UID. */
static int
mailbox_deliver_file(struct mailbox *box, const char *tmp_path,
	const char *base, unsigned int flags, uint32_t keywords, bool link_it,
	uint32_t *uid_r, char **error_r)
{
	struct buf dst;
	buf_init(&dst);
	buf_printf(&dst, "%s/cur/", box->path);
	mailbox_build_name(&dst, base, strlen(base), flags, keywords);
	int fd = uidlist_lock(box->path, MAILBOX_LOCK_TIMEOUT_MS, error_r);
	if (fd < 0) {
		buf_clear(&dst);
		return -1;
	}
	int ret = link_it ? link(tmp_path, buf_data(&dst)) :
		rename(tmp_path, buf_data(&dst));
	if (ret < 0) {
		*error_r = xasprintf("%s(%s): %s", link_it ? "link" : "rename",
			buf_data(&dst), strerror(errno));
		uidlist_unlock(box->path, fd);
		buf_clear(&dst);
		return -1;
	}
	buf_clear(&dst);
	return mailbox_uid_for(box, base, fd, uid_r, error_r);
}

/* Keyword letters in box for names. */
static uint32_t
mailbox_keyword_bits(struct mailbox *box, const char *const *names,
	unsigned int n)
{
	uint32_t bits = 0;
	for (unsigned int i = 0; i < n; i++) {
		int idx = mailbox_keyword_index(box, names[i], true);
		if (idx >= 0)
			bits |= 1u << idx;
	}
	return bits;
}

int
mailbox_append(const char *root, const char *name, const void *data,
	size_t len, unsigned int flags, const char *const *keywords,
	unsigned int n_keywords, time_t internaldate, uint32_t *uidvalidity_r,
	uint32_t *uid_r, char **error_r)
{
	struct mailbox *box = NULL;
	struct buf path;
	buf_init(&path);
	if (mailbox_name_to_path(root, name, &path) < 0) {
		buf_clear(&path);
		return 0;
	}
	struct stat st;
	char *cur = xasprintf("%s/cur", buf_data(&path));
	int exists = stat(cur, &st);
	free(cur);
	if (exists < 0) {
		buf_clear(&path);
		return 0;
	}
	box = xcalloc(1, sizeof(*box));
	box->root = xstrdup(root);
	box->name = xstrdup(name);
	box->path = buf_steal(&path);
	mailbox_keywords_read(box);
	uint32_t kw = mailbox_keyword_bits(box, keywords, n_keywords);

	/* vsize: CRLF line ends (bare LFs count two) */
	uint64_t vsize = len;
	const char *d = data;
	for (size_t i = 0; i < len; i++) {
		if (d[i] == '\n' && (i == 0 || d[i - 1] != '\r'))
			vsize++;
	}
	struct buf base, tmp;
	buf_init(&base);
	buf_init(&tmp);
	mailbox_new_base_name(&base);
	buf_printf(&base, ",S=%zu,W=%llu", len, (unsigned long long)vsize);
	buf_printf(&tmp, "%s/tmp/%s", box->path, buf_data(&base));
	int ret = -1;
	int fd = open(buf_data(&tmp), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		0600);
	if (fd < 0) {
		*error_r = xasprintf("open(%s): %s", buf_data(&tmp),
			strerror(errno));
		goto out;
	}
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(fd, d + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*error_r = xasprintf("write(%s): %s", buf_data(&tmp),
				strerror(errno));
			close(fd);
			(void)unlink(buf_data(&tmp));
			goto out;
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0) {
		*error_r = xasprintf("fsync(%s): %s", buf_data(&tmp),
			strerror(errno));
		close(fd);
		(void)unlink(buf_data(&tmp));
		goto out;
	}
	if (internaldate != 0) {
		struct timespec ts[2] = { { internaldate, 0 },
			{ internaldate, 0 } };
		(void)futimens(fd, ts);
	}
	close(fd);
	if (mailbox_deliver_file(box, buf_data(&tmp), buf_data(&base),
			flags & MAILBOX_FLAGS_STORED, kw, false, uid_r,
			error_r) < 0) {
		(void)unlink(buf_data(&tmp));
		goto out;
	}
	*uidvalidity_r = box->uidvalidity;
	ret = 1;
out:
	buf_clear(&base);
	buf_clear(&tmp);
	mailbox_free(&box);
	return ret;
}

int
mailbox_copy(struct mailbox *src, unsigned int i, const char *dst_name,
	uint32_t *uidvalidity_r, uint32_t *uid_r, char **error_r)
{
	struct mailbox *dst = NULL;
	int ret = mailbox_open(src->root, dst_name, true, &dst, error_r);
	if (ret <= 0)
		return ret;
	const struct mailbox_msg *m = &src->msgs[i];
	const char *names[MAILBOX_MAX_KEYWORDS];
	unsigned int n = 0;
	for (unsigned int k = 0; k < src->n_keywords; k++) {
		if ((m->keywords & (1u << k)) != 0 && src->keywords[k] != NULL)
			names[n++] = src->keywords[k];
	}
	uint32_t kw = mailbox_keyword_bits(dst, names, n);
	struct buf from, base;
	buf_init(&from);
	buf_init(&base);
	mailbox_msg_path(src, i, &from);
	mailbox_new_base_name(&base);
	uint64_t size = 0, vsize = 0;
	if (mailbox_msg_size(src, i, &size) < 0 ||
	    mailbox_msg_vsize(src, i, &vsize) < 0) {
		ret = 0; /* gone */
		goto out;
	}
	buf_printf(&base, ",S=%llu,W=%llu", (unsigned long long)size,
		(unsigned long long)vsize);
	/* a hard link shares the file: Maildir files never change */
	if (mailbox_deliver_file(dst, buf_data(&from), buf_data(&base),
			m->flags & MAILBOX_FLAGS_STORED, kw, true, uid_r,
			error_r) < 0) {
		/* XXX: no copy fallback across file systems yet (EXDEV) */
		ret = errno == ENOENT ? 0 : -1;
		goto out;
	}
	*uidvalidity_r = dst->uidvalidity;
	ret = 1;
out:
	buf_clear(&from);
	buf_clear(&base);
	mailbox_free(&dst);
	return ret;
}

void
mailbox_flags_append(const struct mailbox *box, unsigned int flags,
	uint32_t keywords, struct buf *out)
{
	static const struct {
		unsigned int flag;
		const char *name;
	} names[] = {
		{ MAILBOX_FLAG_ANSWERED, "\\Answered" },
		{ MAILBOX_FLAG_FLAGGED, "\\Flagged" },
		{ MAILBOX_FLAG_DELETED, "\\Deleted" },
		{ MAILBOX_FLAG_SEEN, "\\Seen" },
		{ MAILBOX_FLAG_DRAFT, "\\Draft" },
		{ MAILBOX_FLAG_RECENT, "\\Recent" },
	};
	bool first = true;
	for (size_t i = 0; i < N_ELEMENTS(names); i++) {
		if ((flags & names[i].flag) == 0)
			continue;
		if (!first)
			buf_append_char(out, ' ');
		buf_append_str(out, names[i].name);
		first = false;
	}
	for (unsigned int k = 0; k < box->n_keywords; k++) {
		if ((keywords & (1u << k)) == 0 || box->keywords[k] == NULL)
			continue;
		if (!first)
			buf_append_char(out, ' ');
		buf_append_str(out, box->keywords[k]);
		first = false;
	}
}
