/* log.h: one event per line, key=value.
 *
 *   log_info("smtp.connect", "sid=%s rip=%s", sid, rip);
 *   -> 2026-11-24T05:40:01.123Z postierd[812] info smtp.connect sid=... rip=...
 *
 * The event name is `area.event`. Values that come from users go through
 * log_quote() (quoted and escaped). Each line is written with one write(2), so
 * lines from several threads never interleave. Passwords and AUTH payloads are
 * never logged. */
#ifndef CORE_LOG_H
#define CORE_LOG_H

#include <stddef.h>
#include "postier.h"

enum log_level {
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARN,
	LOG_LEVEL_ERROR,
};

enum log_target {
	LOG_TARGET_STDERR,
	LOG_TARGET_SYSLOG,
	LOG_TARGET_FILE,
};

/* ident: program name (borrowed, must outlive logging). For LOG_TARGET_FILE,
 * path names the file (appended, reopened by log_reopen()). Returns 0, or -1
 * when the file cannot be opened (errno set). May be called again to change
 * the target. */
int log_init(const char *ident, enum log_target target, const char *path,
	enum log_level min_level);
void log_set_level(enum log_level min_level);
/* Parses "debug", "info", "warn", "error". Returns 0 or -1. */
int log_level_parse(const char *s, enum log_level *level_r);
const char *log_level_name(enum log_level level);
/* Reopens a log file (after rotation, on SIGHUP). */
void log_reopen(void);

void log_event(enum log_level level, const char *event, const char *fmt, ...)
	ATTR_PRINTF(3, 4);
#define log_debug(ev, ...) log_event(LOG_LEVEL_DEBUG, ev, __VA_ARGS__)
#define log_info(ev, ...) log_event(LOG_LEVEL_INFO, ev, __VA_ARGS__)
#define log_warn(ev, ...) log_event(LOG_LEVEL_WARN, ev, __VA_ARGS__)
#define log_error(ev, ...) log_event(LOG_LEVEL_ERROR, ev, __VA_ARGS__)
bool log_is_enabled(enum log_level level);

/* Start-up failure of the environment: one clear line, exit(1). */
void log_fatal(const char *fmt, ...) ATTR_PRINTF(1, 2) ATTR_NORETURN;
/* A bug: one line, abort() for a core. */
void log_panic(const char *fmt, ...) ATTR_PRINTF(1, 2) ATTR_NORETURN;

/* Returns s formatted as a log value (see buf_append_logvalue(): bare token
 * or quoted and escaped, at most 256 bytes of s). The string lives in
 * thread-local storage and stays valid until 8 more log_quote*() calls on the
 * same thread: use it directly in a log_*() argument list. */
const char *log_quote(const char *s);
const char *log_quote_n(const char *s, size_t len);

#endif
