/* delivery.c: write once, link everywhere, fsync in batches (delivery.h).
 * The only knowledge of queue files here is the envelope: the data ranges
 * are copied with copy_file_range(), so message bytes never pass through
 * user space when the spool and the Maildir share a file system. Quotas,
 * Sieve and Delivered-To are deliberately absent (a per-recipient header
 * would forbid the hard link). */
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
#include "core/log.h"
#include "core/xmalloc.h"
#include "delivery.h"
#include "maildir_write.h"
#include "spool.h"

/* errno of a failed write into a Maildir: temporary unless retrying cannot
 * help (the path itself is impossible). */
static enum delivery_rcpt_state
delivery_errno_state(int err)
{
	switch (err) {
	case ENAMETOOLONG:
	case ENOTDIR:
	case ELOOP:
	case EINVAL:
		return DELIVERY_RCPT_PERMFAIL;
	default:
		return DELIVERY_RCPT_TEMPFAIL;
	}
}

static void
delivery_fail(struct delivery_msg *m, size_t i, int err, const char *what,
	const char *path)
{
	m->state[i] = delivery_errno_state(err);
	free(m->error[i]);
	m->error[i] = xasprintf("%s %s: %s", what, path, strerror(err));
}

static int
delivery_write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		data += n;
		len -= n;
	}
	return 0;
}

/* Copies len bytes at in_off of in_fd to the end of out_fd; in-kernel when
 * possible. Returns 0 or -1 (errno). */
static int
delivery_copy_range(int in_fd, off_t in_off, int out_fd, size_t len)
{
	static bool no_cfr;
	while (len > 0 && !no_cfr) {
		ssize_t n = copy_file_range(in_fd, &in_off, out_fd, NULL, len, 0);
		if (n > 0) {
			len -= n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == ENOSYS || errno == EOPNOTSUPP))
			no_cfr = true;
		else if (n < 0 && errno != EXDEV && errno != EINVAL)
			return -1;
		break;
	}
	char buf[65536];
	while (len > 0) {
		size_t want = len < sizeof(buf) ? len : sizeof(buf);
		ssize_t n = pread(in_fd, buf, want, in_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO; /* spool shorter than its records */
			return -1;
		}
		if (delivery_write_all(out_fd, buf, n) < 0)
			return -1;
		in_off += n;
		len -= n;
	}
	return 0;
}

/* "Return-Path: <from>\r\n"; bytes that cannot be in a header become '?'
 * (the SMTP session validated the address; this is the last guard against
 * header injection). */
static void
delivery_return_path(struct buf *out, const char *from)
{
	buf_append_str(out, "Return-Path: <");
	for (const char *p = from; *p != '\0'; p++) {
		unsigned char ch = *p;
		buf_append_char(out, ch < 0x20 || ch == 0x7f ? '?' : (char)ch);
	}
	buf_append_str(out, ">\r\n");
}

/* Writes the message file into root/tmp/name. Returns the open fd or -1
 * (errno). */
static int
delivery_write_file(struct delivery_msg *m, const char *path,
	const struct buf *header)
{
	/* a stale tmp file of an earlier attempt may be linked into new/
	 * already: never truncate it, replace it */
	(void)unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (delivery_write_all(fd, buf_data(header), buf_len(header)) < 0)
		goto fail;
	for (size_t i = 0; i < m->env->data_count; i++) {
		if (delivery_copy_range(m->spool_fd, m->env->data[i].offset, fd,
		    m->env->data[i].len) < 0)
			goto fail;
	}
	/* start writeback now; the fdatasync() round waits for it */
	(void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	return fd;
fail:;
	int saved = errno;
	close(fd);
	(void)unlink(path);
	errno = saved;
	return -1;
}

/* Picks the Maildir to write in and writes the file there. */
static void
delivery_prepare(struct delivery_msg *m)
{
	const struct spool_envelope *env = m->env;
	struct buf b;
	buf_init(&b);
	maildir_base_name(&b, env->id, env->host != NULL ? env->host :
		"localhost");
	m->base = xstrdup(buf_data(&b));
	struct buf header;
	buf_init(&header);
	delivery_return_path(&header, env->from);
	maildir_size_suffix(&b, buf_len(&header) + env->size,
		buf_len(&header) + env->vsize);
	m->name = buf_steal(&b);
	m->fd = -1;

	for (size_t i = 0; i < env->rcpt_count; i++) {
		if (m->state[i] != DELIVERY_RCPT_PENDING)
			continue;
		const char *root = env->rcpts[i].maildir;
		char *error = NULL;
		if (maildir_ensure(root, &error) < 0) {
			m->state[i] = delivery_errno_state(errno);
			free(m->error[i]);
			m->error[i] = error;
			continue;
		}
		if (m->check_existing) {
			int r = maildir_has_message(root, m->name, m->base);
			if (r > 0) {
				m->state[i] = DELIVERY_RCPT_ALREADY;
				continue;
			}
		}
		if (m->fd >= 0)
			continue;
		char *path = xasprintf("%s/tmp/%s", root, m->name);
		m->fd = delivery_write_file(m, path, &header);
		if (m->fd < 0) {
			delivery_fail(m, i, errno, "write", path);
			free(path);
		} else {
			m->tmp_path = path;
		}
	}
	buf_clear(&header);
}

/* Copies the written file into root/tmp, then links it to new/. */
static int
delivery_copy_into(struct delivery_msg *m, const char *root,
	const char *new_path)
{
	char *tmp = xasprintf("%s/tmp/%s", root, m->name);
	(void)unlink(tmp);
	int in = open(m->tmp_path, O_RDONLY | O_CLOEXEC);
	int out = in < 0 ? -1 :
		open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int ret = -1;
	struct stat st;
	if (out >= 0 && fstat(in, &st) == 0 &&
	    delivery_copy_range(in, 0, out, st.st_size) == 0 &&
	    fdatasync(out) == 0 && link(tmp, new_path) == 0)
		ret = 0;
	int saved = errno;
	if (in >= 0)
		close(in);
	if (out >= 0) {
		close(out);
		(void)unlink(tmp);
	}
	free(tmp);
	errno = saved;
	return ret;
}

struct delivery_dirs {
	char **paths;
	size_t count;
};

static void
delivery_dirs_add(struct delivery_dirs *d, const char *path)
{
	for (size_t i = 0; i < d->count; i++) {
		if (strcmp(d->paths[i], path) == 0)
			return;
	}
	d->paths = xrealloc(d->paths, (d->count + 1) * sizeof(char *));
	d->paths[d->count++] = xstrdup(path);
}

static void
delivery_link(struct delivery_msg *m, struct delivery_dirs *dirs)
{
	const struct spool_envelope *env = m->env;
	for (size_t i = 0; i < env->rcpt_count; i++) {
		if (m->state[i] != DELIVERY_RCPT_PENDING)
			continue;
		if (m->tmp_path == NULL) {
			/* the write failed for an earlier recipient */
			m->state[i] = DELIVERY_RCPT_TEMPFAIL;
			m->error[i] = xstrdup("message file not written");
			continue;
		}
		const char *root = env->rcpts[i].maildir;
		char *new_path = xasprintf("%s/new/%s", root, m->name);
		int ret = link(m->tmp_path, new_path);
		if (ret < 0 && (errno == EXDEV || errno == EMLINK ||
		    errno == EPERM))
			ret = delivery_copy_into(m, root, new_path);
		if (ret == 0) {
			m->state[i] = DELIVERY_RCPT_DONE;
			char *dir = xasprintf("%s/new", root);
			delivery_dirs_add(dirs, dir);
			free(dir);
		} else if (errno == EEXIST) {
			/* the same queue entry delivered before a crash */
			m->state[i] = DELIVERY_RCPT_ALREADY;
		} else {
			delivery_fail(m, i, errno, "link", new_path);
		}
		free(new_path);
	}
}

void
delivery_run(struct delivery_msg *msgs, size_t count)
{
	for (size_t k = 0; k < count; k++)
		delivery_prepare(&msgs[k]);
	/* one round: writeback was started for every file, so the first
	 * fdatasync() commits the journal for most of them */
	for (size_t k = 0; k < count; k++) {
		struct delivery_msg *m = &msgs[k];
		if (m->fd < 0)
			continue;
		int ret = fdatasync(m->fd);
		int saved = errno;
		close(m->fd);
		m->fd = -1;
		if (ret < 0) {
			for (size_t i = 0; i < m->env->rcpt_count; i++) {
				if (m->state[i] == DELIVERY_RCPT_PENDING)
					delivery_fail(m, i, saved, "fdatasync",
						m->tmp_path);
			}
			(void)unlink(m->tmp_path);
			free(m->tmp_path);
			m->tmp_path = NULL;
		}
	}
	struct delivery_dirs dirs = { 0 };
	for (size_t k = 0; k < count; k++)
		delivery_link(&msgs[k], &dirs);
	for (size_t d = 0; d < dirs.count; d++) {
		if (maildir_fsync_dir(dirs.paths[d]) == 0)
			continue;
		/* the links under this directory may not be durable: those
		 * recipients are retried (and then found by EEXIST) */
		int saved = errno;
		log_error("delivery.fsync_failed", "dir=%s error=%s",
			log_quote(dirs.paths[d]), log_quote(strerror(saved)));
		size_t plen = strlen(dirs.paths[d]) - 4; /* "/new" */
		for (size_t k = 0; k < count; k++) {
			struct delivery_msg *m = &msgs[k];
			for (size_t i = 0; i < m->env->rcpt_count; i++) {
				const char *root = m->env->rcpts[i].maildir;
				if (m->state[i] == DELIVERY_RCPT_DONE &&
				    strlen(root) == plen &&
				    strncmp(root, dirs.paths[d], plen) == 0)
					delivery_fail(m, i, saved, "fsync",
						dirs.paths[d]);
			}
		}
	}
	for (size_t d = 0; d < dirs.count; d++)
		free(dirs.paths[d]);
	free(dirs.paths);
	for (size_t k = 0; k < count; k++) {
		if (msgs[k].tmp_path != NULL)
			(void)unlink(msgs[k].tmp_path);
	}
}

void
delivery_msg_clear(struct delivery_msg *m)
{
	/* fd is only meaningful once delivery_run() prepared the message */
	if (m->name != NULL && m->fd >= 0)
		close(m->fd);
	m->fd = -1;
	free(m->name);
	free(m->base);
	free(m->tmp_path);
	m->name = m->base = m->tmp_path = NULL;
	if (m->error != NULL && m->env != NULL) {
		for (size_t i = 0; i < m->env->rcpt_count; i++) {
			free(m->error[i]);
			m->error[i] = NULL;
		}
	}
}
