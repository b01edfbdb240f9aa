/* mailbox_uidlist.c: reading, locking and rewriting dovecot-uidlist (format
 * and locking in mailbox_uidlist.h). */
#include "postier.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/xmalloc.h"
#include "mailbox_uidlist.h"

/* Dovecot: MAILDIR_UIDLIST_LOCK_STALE_TIMEOUT = 2 minutes */
#define UIDLIST_STALE_S 120

void
uidlist_init(struct uidlist *ul)
{
	memset(ul, 0, sizeof(*ul));
}

void
uidlist_clear(struct uidlist *ul)
{
	for (unsigned int i = 0; i < ul->count; i++) {
		free(ul->recs[i].base);
		free(ul->recs[i].ext);
	}
	free(ul->recs);
	free(ul->guid);
	free(ul->hdr_extra);
	uidlist_init(ul);
}

void
uidlist_add(struct uidlist *ul, uint32_t uid, const char *base,
	size_t base_len, const char *ext)
{
	if (ul->count == ul->cap) {
		ul->cap = ul->cap == 0 ? 64 : ul->cap * 2;
		ul->recs = xrealloc(ul->recs, ul->cap * sizeof(*ul->recs));
	}
	struct uidlist_rec *r = &ul->recs[ul->count++];
	r->uid = uid;
	r->base = xstrndup(base, base_len);
	r->ext = ext != NULL && *ext != '\0' ? xstrdup(ext) : NULL;
}

uint32_t
uidlist_next_uid(const struct uidlist *ul)
{
	uint32_t next = ul->nextuid == 0 ? 1 : ul->nextuid;
	for (unsigned int i = 0; i < ul->count; i++) {
		if (ul->recs[i].uid >= next)
			next = ul->recs[i].uid + 1;
	}
	return next;
}

static int
uidlist_parse_u32(const char *s, uint32_t *n_r)
{
	char *end;
	errno = 0;
	unsigned long long n = strtoull(s, &end, 10);
	if (errno != 0 || end == s || n > UINT32_MAX)
		return -1;
	*n_r = (uint32_t)n;
	return 0;
}

static int
uidlist_parse_header(struct uidlist *ul, char *line)
{
	if (line[0] != '3' || (line[1] != ' ' && line[1] != '\0'))
		return -1;
	struct buf extra;
	buf_init(&extra);
	char *save = NULL;
	for (char *f = strtok_r(line + 1, " ", &save); f != NULL;
	     f = strtok_r(NULL, " ", &save)) {
		if (f[0] == 'V')
			(void)uidlist_parse_u32(f + 1, &ul->uidvalidity);
		else if (f[0] == 'N')
			(void)uidlist_parse_u32(f + 1, &ul->nextuid);
		else if (f[0] == 'G' && ul->guid == NULL)
			ul->guid = xstrdup(f + 1);
		else {
			if (buf_len(&extra) > 0)
				buf_append_char(&extra, ' ');
			buf_append_str(&extra, f);
		}
	}
	if (buf_len(&extra) > 0)
		ul->hdr_extra = buf_steal(&extra);
	buf_clear(&extra);
	return 0;
}

int
uidlist_read(const char *dir, struct uidlist *ul, char **error_r)
{
	uidlist_clear(ul);
	char *path = xasprintf("%s/dovecot-uidlist", dir);
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		int err = errno;
		if (err == ENOENT) {
			free(path);
			return 0;
		}
		*error_r = xasprintf("open(%s): %s", path, strerror(err));
		free(path);
		return -1;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	bool header = true;
	int ret = 1;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if (header) {
			header = false;
			if (uidlist_parse_header(ul, line) < 0) {
				*error_r = xasprintf("%s: unsupported version "
					"(not 3)", path);
				ret = -1;
				break;
			}
			continue;
		}
		/* "<uid> [ext ...] :<name>"; a damaged line is skipped */
		char *colon = strstr(line, " :");
		uint32_t uid;
		if (colon == NULL || uidlist_parse_u32(line, &uid) < 0 ||
		    uid == 0)
			continue;
		char *name = colon + 2;
		size_t base_len = strcspn(name, ":");
		char *ext = strchr(line, ' ');
		*colon = '\0';
		while (ext != NULL && *ext == ' ')
			ext++;
		uidlist_add(ul, uid, name, base_len,
			ext != NULL && ext < colon ? ext : NULL);
	}
	if (ret > 0 && ferror(f)) {
		*error_r = xasprintf("read(%s): %s", path, strerror(errno));
		ret = -1;
	}
	free(line);
	fclose(f);
	free(path);
	if (ret < 0)
		uidlist_clear(ul);
	return ret;
}

int
uidlist_lock(const char *dir, long long timeout_ms, char **error_r)
{
	char *path = xasprintf("%s/dovecot-uidlist.lock", dir);
	long long waited_ms = 0;
	for (;;) {
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			0600);
		if (fd >= 0) {
			free(path);
			return fd;
		}
		if (errno != EEXIST) {
			*error_r = xasprintf("open(%s): %s", path,
				strerror(errno));
			free(path);
			return -1;
		}
		struct stat st;
		if (stat(path, &st) == 0 &&
		    time(NULL) - st.st_mtime > UIDLIST_STALE_S) {
			/* stale: its holder died */
			(void)unlink(path);
			continue;
		}
		if (waited_ms >= timeout_ms) {
			*error_r = xasprintf("%s: held by another process",
				path);
			free(path);
			errno = EAGAIN;
			return -1;
		}
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		waited_ms += 10;
	}
}

void
uidlist_unlock(const char *dir, int lock_fd)
{
	char *path = xasprintf("%s/dovecot-uidlist.lock", dir);
	(void)unlink(path);
	close(lock_fd);
	free(path);
}

int
uidlist_commit(const char *dir, int lock_fd, const struct uidlist *ul,
	char **error_r)
{
	struct buf out;
	buf_init(&out);
	buf_printf(&out, "3 V%u N%u", ul->uidvalidity, uidlist_next_uid(ul));
	if (ul->guid != NULL)
		buf_printf(&out, " G%s", ul->guid);
	if (ul->hdr_extra != NULL)
		buf_printf(&out, " %s", ul->hdr_extra);
	buf_append_char(&out, '\n');
	for (unsigned int i = 0; i < ul->count; i++) {
		const struct uidlist_rec *r = &ul->recs[i];
		buf_printf(&out, "%u", r->uid);
		if (r->ext != NULL)
			buf_printf(&out, " %s", r->ext);
		buf_printf(&out, " :%s\n", r->base);
	}
	char *lock = xasprintf("%s/dovecot-uidlist.lock", dir);
	char *list = xasprintf("%s/dovecot-uidlist", dir);
	const char *p = buf_data(&out);
	size_t left = buf_len(&out);
	int ret = 0;
	while (left > 0) {
		ssize_t n = write(lock_fd, p, left);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += n;
		left -= (size_t)n;
	}
	if (fsync(lock_fd) < 0 || rename(lock, list) < 0)
		goto fail;
	close(lock_fd);
	goto out;
fail:
	*error_r = xasprintf("writing %s: %s", list, strerror(errno));
	(void)unlink(lock);
	close(lock_fd);
	ret = -1;
out:
	free(lock);
	free(list);
	buf_clear(&out);
	return ret;
}
