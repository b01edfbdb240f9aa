/* maildir_write.c: Maildir creation and file names for delivery. The
 * writing itself (tmp -> new, links, copies) is delivery.c's; this file knows
 * the Maildir layout only. */
#include "postier.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/xmalloc.h"
#include "maildir_write.h"

void
maildir_unique_id(struct buf *out, int64_t time_us, pid_t pid, uint64_t seq)
{
	buf_printf(out, "%" PRId64 ".M%06" PRId64 "P%ldQ%" PRIu64,
		time_us / 1000000, time_us % 1000000, (long)pid, seq);
}

void
maildir_base_name(struct buf *out, const char *unique_id, const char *host)
{
	buf_append_str(out, unique_id);
	buf_append_char(out, '.');
	for (const char *p = host; *p != '\0'; p++) {
		if (*p == '/')
			buf_append_str(out, "\\057");
		else if (*p == ':')
			buf_append_str(out, "\\072");
		else
			buf_append_char(out, *p);
	}
}

void
maildir_size_suffix(struct buf *out, uint64_t size, uint64_t vsize)
{
	buf_printf(out, ",S=%" PRIu64 ",W=%" PRIu64, size, vsize);
}

int
maildir_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int ret = fsync(fd);
	int saved = errno;
	close(fd);
	errno = saved;
	return ret;
}

/* mkdir -p path; fsyncs the parent of every directory it creates. */
static int
maildir_mkdirs(char *path, char **error_r)
{
	struct stat st;
	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		errno = ENOTDIR;
		*error_r = xasprintf("%s: not a directory", path);
		return -1;
	}
	if (errno != ENOENT) {
		*error_r = xasprintf("stat %s: %s", path, strerror(errno));
		return -1;
	}
	char *slash = strrchr(path, '/');
	if (slash != NULL && slash != path) {
		*slash = '\0';
		int ret = maildir_mkdirs(path, error_r);
		*slash = '/';
		if (ret < 0)
			return -1;
	}
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		int saved = errno;
		*error_r = xasprintf("mkdir %s: %s", path, strerror(errno));
		errno = saved;
		return -1;
	}
	if (slash != NULL && slash != path) {
		*slash = '\0';
		int ret = maildir_fsync_dir(path);
		int saved = errno;
		*slash = '/';
		if (ret < 0) {
			*error_r = xasprintf("fsync parent of %s: %s", path,
				strerror(saved));
			errno = saved;
			return -1;
		}
	}
	return 0;
}

int
maildir_ensure(const char *root, char **error_r)
{
	static const char *const subs[] = { "tmp", "new", "cur" };
	for (size_t i = 0; i < N_ELEMENTS(subs); i++) {
		char *path = xasprintf("%s/%s", root, subs[i]);
		int ret = maildir_mkdirs(path, error_r);
		free(path);
		if (ret < 0)
			return -1;
	}
	return 0;
}

int
maildir_has_message(const char *root, const char *name, const char *base)
{
	char *path = xasprintf("%s/new/%s", root, name);
	struct stat st;
	int ret = stat(path, &st) == 0 ? 1 : 0;
	free(path);
	if (ret == 1)
		return 1;
	path = xasprintf("%s/cur", root);
	DIR *d = opendir(path);
	free(path);
	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	size_t blen = strlen(base);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		/* base, then ",S=..." or ":2,flags" */
		if (strncmp(de->d_name, base, blen) == 0 &&
		    (de->d_name[blen] == ',' || de->d_name[blen] == ':' ||
		     de->d_name[blen] == '\0')) {
			ret = 1;
			break;
		}
	}
	closedir(d);
	return ret;
}
