/* slow_fsync.c: an LD_PRELOAD shim for tests. fsync() and fdatasync() of a
 * file whose path contains POSTIER_SLOW_FSYNC_MATCH (default
 * "dovecot-uidlist") first sleep POSTIER_SLOW_FSYNC_MS milliseconds: a disk
 * that takes its time, to show which thread waits for it. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void
slow_maybe(int fd)
{
	const char *ms = getenv("POSTIER_SLOW_FSYNC_MS");
	if (ms == NULL)
		return;
	const char *match = getenv("POSTIER_SLOW_FSYNC_MATCH");
	if (match == NULL)
		match = "dovecot-uidlist";
	char link[64], path[PATH_MAX];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return;
	path[n] = '\0';
	if (strstr(path, match) == NULL)
		return;
	long v = atol(ms);
	struct timespec ts = { v / 1000, (v % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0)
		;
}

int
fsync(int fd)
{
	static int (*real)(int);
	if (real == NULL)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	slow_maybe(fd);
	return real(fd);
}

int
fdatasync(int fd)
{
	static int (*real)(int);
	if (real == NULL)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	slow_maybe(fd);
	return real(fd);
}
