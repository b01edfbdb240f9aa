/* slow_disk.c: an LD_PRELOAD shim for tests: a disk that takes its time, to
 * show which thread waits for it.
 *   POSTIER_SLOW_FSYNC_MS   fsync()/fdatasync() of a file whose path holds
 *                           POSTIER_SLOW_FSYNC_MATCH (default
 *                           "dovecot-uidlist") first sleep this long;
 *   POSTIER_COLD_MATCH      files whose path holds this are "not in the
 *                           page cache": preadv2(RWF_NOWAIT) fails with
 *                           EAGAIN, and a read() from offset 0 first sleeps
 *                           POSTIER_SLOW_READ_MS; so does an unlink(). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static bool
path_matches(int fd, const char *match)
{
	char link[64], path[PATH_MAX];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return false;
	path[n] = '\0';
	return strstr(path, match) != NULL;
}

static void
sleep_ms(const char *ms)
{
	long v = atol(ms);
	struct timespec ts = { v / 1000, (v % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0)
		;
}

static void
slow_fsync_maybe(int fd)
{
	const char *ms = getenv("POSTIER_SLOW_FSYNC_MS");
	if (ms == NULL)
		return;
	const char *match = getenv("POSTIER_SLOW_FSYNC_MATCH");
	if (path_matches(fd, match != NULL ? match : "dovecot-uidlist"))
		sleep_ms(ms);
}

int
fsync(int fd)
{
	static int (*real)(int);
	if (real == NULL)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	slow_fsync_maybe(fd);
	return real(fd);
}

int
fdatasync(int fd)
{
	static int (*real)(int);
	if (real == NULL)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	slow_fsync_maybe(fd);
	return real(fd);
}

ssize_t
preadv2(int fd, const struct iovec *iov, int iovcnt, off_t offset, int flags)
{
	static ssize_t (*real)(int, const struct iovec *, int, off_t, int);
	if (real == NULL)
		real = (ssize_t (*)(int, const struct iovec *, int, off_t,
			int))dlsym(RTLD_NEXT, "preadv2");
	const char *cold = getenv("POSTIER_COLD_MATCH");
	if (cold != NULL && (flags & RWF_NOWAIT) != 0 &&
	    path_matches(fd, cold)) {
		errno = EAGAIN;
		return -1;
	}
	return real(fd, iov, iovcnt, offset, flags);
}

ssize_t
read(int fd, void *buf, size_t n)
{
	static ssize_t (*real)(int, void *, size_t);
	if (real == NULL)
		real = (ssize_t (*)(int, void *, size_t))dlsym(RTLD_NEXT,
			"read");
	const char *cold = getenv("POSTIER_COLD_MATCH");
	const char *ms = getenv("POSTIER_SLOW_READ_MS");
	if (cold != NULL && ms != NULL && lseek(fd, 0, SEEK_CUR) == 0 &&
	    path_matches(fd, cold))
		sleep_ms(ms);
	return real(fd, buf, n);
}

int
unlink(const char *path)
{
	static int (*real)(const char *);
	if (real == NULL)
		real = (int (*)(const char *))dlsym(RTLD_NEXT, "unlink");
	const char *cold = getenv("POSTIER_COLD_MATCH");
	const char *ms = getenv("POSTIER_SLOW_READ_MS");
	if (cold != NULL && ms != NULL && strstr(path, cold) != NULL)
		sleep_ms(ms);
	return real(path);
}
