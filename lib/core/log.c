/* log.c: key=value event lines to stderr, a file or syslog. */
#include "postier.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"

static const char *log_ident = "postier";
static enum log_target log_target = LOG_TARGET_STDERR;
static enum log_level log_min_level = LOG_LEVEL_INFO;
static int log_fd = STDERR_FILENO;
static char *log_path;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const log_level_names[] = {
	[LOG_LEVEL_DEBUG] = "debug",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_ERROR] = "error",
};

int
log_init(const char *ident, enum log_target target, const char *path,
	enum log_level min_level)
{
	pthread_mutex_lock(&log_lock);
	log_ident = ident;
	log_min_level = min_level;
	if (log_target == LOG_TARGET_SYSLOG)
		closelog();
	if (log_fd != STDERR_FILENO && log_fd >= 0)
		close(log_fd);
	log_fd = STDERR_FILENO;
	free(log_path);
	log_path = NULL;
	log_target = target;
	int ret = 0;
	if (target == LOG_TARGET_SYSLOG) {
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
	} else if (target == LOG_TARGET_FILE) {
		int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (fd < 0) {
			ret = -1;
			log_target = LOG_TARGET_STDERR;
		} else {
			log_fd = fd;
			log_path = strdup(path);
		}
	}
	pthread_mutex_unlock(&log_lock);
	return ret;
}

void
log_set_level(enum log_level min_level)
{
	log_min_level = min_level;
}

bool
log_is_enabled(enum log_level level)
{
	return level >= log_min_level;
}

int
log_level_parse(const char *s, enum log_level *level_r)
{
	for (size_t i = 0; i < N_ELEMENTS(log_level_names); i++) {
		if (strcmp(s, log_level_names[i]) == 0) {
			*level_r = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

const char *
log_level_name(enum log_level level)
{
	return log_level_names[level];
}

void
log_reopen(void)
{
	pthread_mutex_lock(&log_lock);
	if (log_target == LOG_TARGET_FILE && log_path != NULL) {
		int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
			0640);
		if (fd >= 0) {
			close(log_fd);
			log_fd = fd;
		}
	}
	pthread_mutex_unlock(&log_lock);
}

static void
log_write_line(enum log_level level, const char *event, const char *fmt,
	va_list ap)
{
	struct buf line;
	int saved_errno = errno;

	buf_init(&line);
	if (log_target != LOG_TARGET_SYSLOG) {
		struct timespec ts;
		struct tm tm;
		char stamp[40];
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		buf_printf(&line, "%s.%03ldZ %s[%ld] %s ", stamp,
			ts.tv_nsec / 1000000, log_ident, (long)getpid(),
			log_level_names[level]);
	}
	buf_append_str(&line, event);
	if (fmt != NULL && fmt[0] != '\0') {
		buf_append_char(&line, ' ');
		buf_vprintf(&line, fmt, ap);
	}
	if (log_target == LOG_TARGET_SYSLOG) {
		static const int prio[] = { LOG_DEBUG, LOG_INFO, LOG_WARNING,
			LOG_ERR };
		syslog(prio[level], "%s", buf_data(&line));
	} else {
		buf_append_char(&line, '\n');
		/* One write per line: lines of threads never interleave. */
		ssize_t n = write(log_fd, buf_data(&line), buf_len(&line));
		(void)n;
	}
	buf_clear(&line);
	errno = saved_errno;
}

void
log_event(enum log_level level, const char *event, const char *fmt, ...)
{
	if (level < log_min_level)
		return;
	va_list ap;
	va_start(ap, fmt);
	log_write_line(level, event, fmt, ap);
	va_end(ap);
}

void
log_fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_write_line(LOG_LEVEL_ERROR, "fatal", fmt, ap);
	va_end(ap);
	if (log_target != LOG_TARGET_STDERR) {
		/* The operator who started us should see why we stopped. */
		va_start(ap, fmt);
		fprintf(stderr, "%s: ", log_ident);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		va_end(ap);
	}
	exit(1);
}

void
log_panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_write_line(LOG_LEVEL_ERROR, "panic", fmt, ap);
	va_end(ap);
	abort();
}

void
postier_assert_failed(const char *file, int line, const char *cond)
{
	log_panic("file=%s line=%d assertion=%s", file, line, log_quote(cond));
}

#define LOG_QUOTE_SLOTS 8
#define LOG_QUOTE_MAX_BYTES 256

const char *
log_quote_n(const char *s, size_t len)
{
	/* Fixed arrays, not heap buffers: nothing to free at thread exit. */
	static _Thread_local char slots[LOG_QUOTE_SLOTS][LOG_QUOTE_MAX_BYTES * 4 + 8];
	static _Thread_local unsigned next;
	char *slot = slots[next++ % LOG_QUOTE_SLOTS];
	struct buf b;

	buf_init(&b);
	if (s == NULL)
		buf_append_str(&b, "\"\"");
	else
		buf_append_logvalue(&b, s, len, LOG_QUOTE_MAX_BYTES);
	PASSERT(buf_len(&b) < sizeof(slots[0]));
	memcpy(slot, buf_data(&b), buf_len(&b) + 1);
	buf_clear(&b);
	return slot;
}

const char *
log_quote(const char *s)
{
	return log_quote_n(s, s != NULL ? strlen(s) : 0);
}
