/* cfg.h: INI configuration from one typed table of settings.
 *
 * Each program declares every setting once, in a `struct cfg_def` table
 * (section, key, type, default, min, max, reloadable, where it is stored,
 * help). Nothing else reads a key. Loading sets the defaults, reads the file,
 * refuses unknown sections and keys, checks types and bounds, and reports the
 * first error as "FILE:LINE: message". cfg_print() writes the effective
 * configuration back as INI (what `-n` prints).
 *
 * File syntax: `[section]` headers, `key = value` lines, comments start with
 * '#' or ';' at the beginning of a line. A value may be written in double
 * quotes to keep leading or trailing spaces (\" and \\ escape). Keys before
 * any header belong to section "". A CFG_LIST key may repeat: each line adds
 * one item; any other key given twice is an error.
 *
 * Units: CFG_SIZE takes a number with an optional k, M, G suffix (powers of
 * 1024, also kB/MB/GB/KiB/MiB/GiB); CFG_DURATION takes ms, s, m, h, d (a bare
 * number is seconds) and is stored in milliseconds. */
#ifndef CORE_CFG_H
#define CORE_CFG_H

#include <stddef.h>
#include <stdint.h>
#include "postier.h"
#include "core/buf.h"

enum cfg_type {
	CFG_TYPE_STR,      /* char *, heap, NULL when empty and no default */
	CFG_TYPE_INT,      /* long long, within [min, max] */
	CFG_TYPE_BOOL,     /* bool: yes/no, true/false, on/off, 1/0 */
	CFG_TYPE_SIZE,     /* uint64_t bytes, within [min, max] */
	CFG_TYPE_DURATION, /* long long milliseconds, within [min, max] */
	CFG_TYPE_ENUM,     /* int: index into choices */
	CFG_TYPE_LIST,     /* struct cfg_list: repeated key, one item per line */
};

struct cfg_list {
	char **items;
	size_t count;
};

struct cfg_def {
	const char *section;
	const char *key;
	enum cfg_type type;
	const char *default_value; /* text, parsed like a file value; NULL: none */
	long long min, max;        /* bounds for INT, SIZE, DURATION (0,0: none) */
	bool reloadable;           /* applied by SIGHUP without restart */
	size_t offset;             /* offsetof(settings struct, field) */
	const char *help;          /* one line, for docs and -n comments */
	const char *const *choices; /* CFG_TYPE_ENUM: NULL-terminated names */
};

#define CFG_FIELD(type, field) offsetof(type, field)

/* Sets every default into settings (which must be zeroed). Returns 0, or -1
 * with *error_r (heap, caller frees) if a default does not parse (a bug). */
int cfg_set_defaults(const struct cfg_def *defs, size_t n, void *settings,
	char **error_r);

/* cfg_set_defaults() then the file. Returns 0, or -1 with *error_r set to
 * "PATH:LINE: message" (heap, caller frees). Blocks on file I/O. */
int cfg_load_file(const struct cfg_def *defs, size_t n, void *settings,
	const char *path, char **error_r);

/* Same as cfg_load_file() for text held in memory; name is used in errors. */
int cfg_load_string(const struct cfg_def *defs, size_t n, void *settings,
	const char *name, const char *text, size_t len, char **error_r);

/* Sets one key from text (command-line overrides). Returns 0 or -1 with
 * *error_r set. A CFG_LIST value is appended. */
int cfg_set(const struct cfg_def *defs, size_t n, void *settings,
	const char *section, const char *key, const char *value, char **error_r);

/* Appends the effective configuration as INI, with each help line as a
 * comment. */
void cfg_print(const struct cfg_def *defs, size_t n, const void *settings,
	struct buf *out);

/* Appends "section.key" names (space-separated) whose values differ between
 * old and new to *reloadable or *restart depending on the table. Returns the
 * number of changed keys. */
size_t cfg_diff(const struct cfg_def *defs, size_t n, const void *old_settings,
	const void *new_settings, struct buf *reloadable, struct buf *restart);

/* Frees the heap values (strings, lists) inside settings. */
void cfg_free(const struct cfg_def *defs, size_t n, void *settings);

/* Value parsers, exposed for other readers and for tests. Return 0 or -1. */
int cfg_parse_bool(const char *s, bool *value_r);
int cfg_parse_size(const char *s, uint64_t *value_r);
int cfg_parse_duration_ms(const char *s, long long *value_r);
int cfg_parse_int(const char *s, long long *value_r);

/* Incremental INI reader: feed bytes in any pieces; each complete item is
 * handed to the callback. */
enum ini_item_kind {
	INI_ITEM_SECTION,
	INI_ITEM_KEY,
};

struct ini_item {
	enum ini_item_kind kind;
	unsigned line;
	const char *section; /* current section */
	const char *key;     /* INI_ITEM_KEY */
	const char *value;   /* INI_ITEM_KEY, unquoted */
};

/* Returns 0 to go on, -1 to stop (the callback sets its own error). */
typedef int ini_item_cb(const struct ini_item *item, void *context);

#define INI_MAX_LINE_BYTES 4096

struct ini_reader {
	struct buf line;
	struct buf section;
	unsigned line_no;
	bool failed;
	char *error; /* "LINE: message" once failed */
	ini_item_cb *cb;
	void *context;
};

void ini_reader_init(struct ini_reader *r, ini_item_cb *cb, void *context);
void ini_reader_clear(struct ini_reader *r);
/* Returns 0, or -1 when the input is malformed or the callback stopped;
 * r->error then says why (only for malformed input). */
int ini_reader_feed(struct ini_reader *r, const char *data, size_t len);
/* Ends the input (a last line without newline counts). Returns 0 or -1. */
int ini_reader_finish(struct ini_reader *r);

#endif
