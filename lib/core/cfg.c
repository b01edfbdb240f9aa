/* cfg.c: the INI reader and the typed settings table. */
#include "postier.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/cfg.h"
#include "core/xmalloc.h"

/* --- value parsers --- */

int
cfg_parse_int(const char *s, long long *value_r)
{
	char *end;
	if (*s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*value_r = v;
	return 0;
}

int
cfg_parse_bool(const char *s, bool *value_r)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	for (size_t i = 0; i < N_ELEMENTS(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*value_r = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*value_r = false;
			return 0;
		}
	}
	return -1;
}

/* Splits "123unit" into a non-negative number and its unit. */
static int
cfg_split_number(const char *s, unsigned long long *num_r, const char **unit_r)
{
	char *end;
	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	while (*end == ' ')
		end++;
	*num_r = v;
	*unit_r = end;
	return 0;
}

int
cfg_parse_size(const char *s, uint64_t *value_r)
{
	static const struct {
		const char *unit;
		uint64_t mult;
	} units[] = {
		{ "", 1 }, { "b", 1 }, { "k", 1ULL << 10 }, { "kb", 1ULL << 10 },
		{ "kib", 1ULL << 10 }, { "m", 1ULL << 20 }, { "mb", 1ULL << 20 },
		{ "mib", 1ULL << 20 }, { "g", 1ULL << 30 }, { "gb", 1ULL << 30 },
		{ "gib", 1ULL << 30 },
	};
	unsigned long long v;
	const char *unit;
	if (cfg_split_number(s, &v, &unit) < 0)
		return -1;
	for (size_t i = 0; i < N_ELEMENTS(units); i++) {
		if (strcasecmp(unit, units[i].unit) == 0) {
			if (v > UINT64_MAX / units[i].mult)
				return -1;
			*value_r = v * units[i].mult;
			return 0;
		}
	}
	return -1;
}

int
cfg_parse_duration_ms(const char *s, long long *value_r)
{
	static const struct {
		const char *unit;
		long long mult;
	} units[] = {
		{ "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "sec", 1000 },
		{ "m", 60000 }, { "min", 60000 }, { "h", 3600000 },
		{ "d", 86400000 },
	};
	unsigned long long v;
	const char *unit;
	if (cfg_split_number(s, &v, &unit) < 0)
		return -1;
	for (size_t i = 0; i < N_ELEMENTS(units); i++) {
		if (strcmp(unit, units[i].unit) == 0) {
			if (v > (unsigned long long)(LLONG_MAX / units[i].mult))
				return -1;
			*value_r = (long long)v * units[i].mult;
			return 0;
		}
	}
	return -1;
}

/* --- the incremental INI reader --- */

void
ini_reader_init(struct ini_reader *r, ini_item_cb *cb, void *context)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->line);
	buf_init(&r->section);
	buf_append_str(&r->section, "");
	r->cb = cb;
	r->context = context;
}

void
ini_reader_clear(struct ini_reader *r)
{
	buf_clear(&r->line);
	buf_clear(&r->section);
	free(r->error);
	r->error = NULL;
}

static int
ini_fail(struct ini_reader *r, const char *fmt, ...) ATTR_PRINTF(2, 3);

static int
ini_fail(struct ini_reader *r, const char *fmt, ...)
{
	struct buf b;
	va_list ap;

	buf_init(&b);
	buf_printf(&b, "%u: ", r->line_no);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	free(r->error);
	r->error = buf_steal(&b);
	r->failed = true;
	return -1;
}

static char *
ini_trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

static bool
ini_is_name(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (!isalnum(c) && c != '_' && c != '-' && c != '.' && c != ':')
			return false;
	}
	return true;
}

/* value = '"' *(char / '\"' / '\\') '"' / bare text */
static int
ini_unquote(struct ini_reader *r, char *v)
{
	size_t n = strlen(v);
	if (n == 0 || v[0] != '"')
		return 0;
	if (n < 2 || v[n - 1] != '"')
		return ini_fail(r, "unterminated quoted value");
	char *out = v;
	for (size_t i = 1; i < n - 1; i++) {
		if (v[i] == '\\') {
			if (i + 1 >= n - 1 || (v[i + 1] != '"' && v[i + 1] != '\\'))
				return ini_fail(r, "bad escape in quoted value");
			i++;
		} else if (v[i] == '"') {
			return ini_fail(r, "stray quote in quoted value");
		}
		*out++ = v[i];
	}
	*out = '\0';
	return 0;
}

static int
ini_line(struct ini_reader *r)
{
	r->line_no++;
	/* before trimming: ini_trim() writes NULs over trailing blanks */
	if (memchr(buf_data(&r->line), '\0', buf_len(&r->line)) != NULL)
		return ini_fail(r, "NUL byte in line");
	char *s = ini_trim((char *)buf_data(&r->line));
	if (*s == '\0' || *s == '#' || *s == ';')
		return 0;

	struct ini_item item = { .line = r->line_no };
	if (*s == '[') {
		char *end = strchr(s, ']');
		if (end == NULL || end[1] != '\0')
			return ini_fail(r, "malformed section header");
		*end = '\0';
		char *name = ini_trim(s + 1);
		if (!ini_is_name(name))
			return ini_fail(r, "bad section name");
		buf_reset(&r->section);
		buf_append_str(&r->section, name);
		item.kind = INI_ITEM_SECTION;
		item.section = buf_data(&r->section);
		return r->cb(&item, r->context);
	}
	char *eq = strchr(s, '=');
	if (eq == NULL)
		return ini_fail(r, "expected key = value");
	*eq = '\0';
	char *key = ini_trim(s);
	char *value = ini_trim(eq + 1);
	if (!ini_is_name(key))
		return ini_fail(r, "bad key name");
	if (ini_unquote(r, value) < 0)
		return -1;
	item.kind = INI_ITEM_KEY;
	item.section = buf_data(&r->section);
	item.key = key;
	item.value = value;
	return r->cb(&item, r->context);
}

int
ini_reader_feed(struct ini_reader *r, const char *data, size_t len)
{
	if (r->failed)
		return -1;
	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t take = nl != NULL ? (size_t)(nl - data) : len;
		if (buf_len(&r->line) + take > INI_MAX_LINE_BYTES) {
			r->line_no++;
			return ini_fail(r, "line longer than %d bytes",
				INI_MAX_LINE_BYTES);
		}
		buf_append(&r->line, data, take);
		if (nl == NULL)
			break;
		int ret = ini_line(r);
		buf_reset(&r->line);
		if (ret < 0) {
			r->failed = true;
			return -1;
		}
		data += take + 1;
		len -= take + 1;
	}
	return 0;
}

int
ini_reader_finish(struct ini_reader *r)
{
	if (r->failed)
		return -1;
	if (buf_len(&r->line) == 0)
		return 0;
	int ret = ini_line(r);
	buf_reset(&r->line);
	if (ret < 0)
		r->failed = true;
	return ret;
}

/* --- the settings table --- */

static void *
cfg_field(void *settings, const struct cfg_def *def)
{
	return (char *)settings + def->offset;
}

static const struct cfg_def *
cfg_find(const struct cfg_def *defs, size_t n, const char *section,
	const char *key)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(defs[i].section, section) == 0 &&
			strcmp(defs[i].key, key) == 0)
			return &defs[i];
	}
	return NULL;
}

static bool
cfg_section_exists(const struct cfg_def *defs, size_t n, const char *section)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(defs[i].section, section) == 0)
			return true;
	}
	return false;
}

static bool
cfg_has_bounds(const struct cfg_def *def)
{
	return def->min != 0 || def->max != 0;
}

/* Parses value into the field of def. Returns 0 or -1 with *error_r. */
static int
cfg_assign(const struct cfg_def *def, void *settings, const char *value,
	char **error_r)
{
	void *field = cfg_field(settings, def);
	long long ll;
	uint64_t u64;
	bool b;

	switch (def->type) {
	case CFG_TYPE_STR: {
		char **p = field;
		free(*p);
		*p = value[0] != '\0' ? xstrdup(value) : NULL;
		return 0;
	}
	case CFG_TYPE_LIST: {
		struct cfg_list *l = field;
		l->items = xrealloc(l->items, (l->count + 2) * sizeof(char *));
		l->items[l->count++] = xstrdup(value);
		l->items[l->count] = NULL;
		return 0;
	}
	case CFG_TYPE_BOOL:
		if (cfg_parse_bool(value, &b) < 0) {
			*error_r = xasprintf("%s: expected yes or no, got %s",
				def->key, value);
			return -1;
		}
		*(bool *)field = b;
		return 0;
	case CFG_TYPE_INT:
		if (cfg_parse_int(value, &ll) < 0) {
			*error_r = xasprintf("%s: expected an integer, got %s",
				def->key, value);
			return -1;
		}
		break;
	case CFG_TYPE_DURATION:
		if (cfg_parse_duration_ms(value, &ll) < 0) {
			*error_r = xasprintf("%s: expected a duration "
				"(e.g. 500ms, 30s, 5m, 1h), got %s", def->key, value);
			return -1;
		}
		break;
	case CFG_TYPE_SIZE:
		if (cfg_parse_size(value, &u64) < 0) {
			*error_r = xasprintf("%s: expected a size "
				"(e.g. 512, 64k, 35M, 1G), got %s", def->key, value);
			return -1;
		}
		if (cfg_has_bounds(def) && (u64 < (uint64_t)def->min ||
			u64 > (uint64_t)def->max)) {
			*error_r = xasprintf("%s: %s is outside %lld..%lld bytes",
				def->key, value, def->min, def->max);
			return -1;
		}
		*(uint64_t *)field = u64;
		return 0;
	case CFG_TYPE_ENUM:
		for (int i = 0; def->choices[i] != NULL; i++) {
			if (strcmp(def->choices[i], value) == 0) {
				*(int *)field = i;
				return 0;
			}
		}
		{
			struct buf b2;
			buf_init(&b2);
			for (int i = 0; def->choices[i] != NULL; i++)
				buf_printf(&b2, "%s%s", i > 0 ? ", " : "",
					def->choices[i]);
			*error_r = xasprintf("%s: expected one of %s, got %s",
				def->key, buf_data(&b2), value);
			buf_clear(&b2);
		}
		return -1;
	}
	/* INT and DURATION: bounds, then store */
	if (cfg_has_bounds(def) && (ll < def->min || ll > def->max)) {
		if (def->type == CFG_TYPE_DURATION)
			*error_r = xasprintf("%s: %s is outside %lldms..%lldms",
				def->key, value, def->min, def->max);
		else
			*error_r = xasprintf("%s: %s is outside %lld..%lld",
				def->key, value, def->min, def->max);
		return -1;
	}
	*(long long *)field = ll;
	return 0;
}

int
cfg_set_defaults(const struct cfg_def *defs, size_t n, void *settings,
	char **error_r)
{
	for (size_t i = 0; i < n; i++) {
		if (defs[i].default_value == NULL)
			continue;
		if (defs[i].type == CFG_TYPE_LIST && defs[i].default_value[0] == '\0')
			continue;
		char *err = NULL;
		if (cfg_assign(&defs[i], settings, defs[i].default_value, &err) < 0) {
			*error_r = xasprintf("default of [%s] %s", defs[i].section, err);
			free(err);
			return -1;
		}
	}
	return 0;
}

struct cfg_load_ctx {
	const struct cfg_def *defs;
	size_t n;
	void *settings;
	bool *seen;
	bool *list_replaced;
	char *error; /* without "NAME:LINE: " */
};

static int
cfg_load_item(const struct ini_item *item, void *context)
{
	struct cfg_load_ctx *ctx = context;
	if (item->kind == INI_ITEM_SECTION) {
		if (!cfg_section_exists(ctx->defs, ctx->n, item->section)) {
			ctx->error = xasprintf("unknown section [%s]", item->section);
			return -1;
		}
		return 0;
	}
	const struct cfg_def *def = cfg_find(ctx->defs, ctx->n, item->section,
		item->key);
	if (def == NULL) {
		ctx->error = xasprintf("unknown key %s in section [%s]", item->key,
			item->section);
		return -1;
	}
	size_t idx = (size_t)(def - ctx->defs);
	if (def->type == CFG_TYPE_LIST) {
		/* The file's items replace the default list. */
		if (!ctx->list_replaced[idx]) {
			struct cfg_list *l = cfg_field(ctx->settings, def);
			for (size_t i = 0; i < l->count; i++)
				free(l->items[i]);
			free(l->items);
			l->items = NULL;
			l->count = 0;
			ctx->list_replaced[idx] = true;
		}
	} else if (ctx->seen[idx]) {
		ctx->error = xasprintf("duplicate key %s in section [%s]", item->key,
			item->section);
		return -1;
	}
	ctx->seen[idx] = true;
	return cfg_assign(def, ctx->settings, item->value, &ctx->error);
}

int
cfg_load_string(const struct cfg_def *defs, size_t n, void *settings,
	const char *name, const char *text, size_t len, char **error_r)
{
	if (cfg_set_defaults(defs, n, settings, error_r) < 0)
		return -1;
	struct cfg_load_ctx ctx = {
		.defs = defs, .n = n, .settings = settings,
		.seen = xcalloc(n, sizeof(bool)),
		.list_replaced = xcalloc(n, sizeof(bool)),
	};
	struct ini_reader r;
	ini_reader_init(&r, cfg_load_item, &ctx);
	int ret = ini_reader_feed(&r, text, len);
	if (ret == 0)
		ret = ini_reader_finish(&r);
	if (ret < 0) {
		if (r.error != NULL)
			*error_r = xasprintf("%s:%s", name, r.error);
		else
			*error_r = xasprintf("%s:%u: %s", name, r.line_no,
				ctx.error != NULL ? ctx.error : "error");
	}
	free(ctx.error);
	free(ctx.seen);
	free(ctx.list_replaced);
	ini_reader_clear(&r);
	return ret;
}

int
cfg_load_file(const struct cfg_def *defs, size_t n, void *settings,
	const char *path, char **error_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	struct buf text;
	buf_init(&text);
	for (;;) {
		char *p = buf_reserve(&text, 65536);
		ssize_t got = read(fd, p, 65536);
		if (got < 0) {
			*error_r = xasprintf("%s: %s", path, strerror(errno));
			close(fd);
			buf_clear(&text);
			return -1;
		}
		if (got == 0)
			break;
		buf_commit(&text, (size_t)got);
	}
	close(fd);
	int ret = cfg_load_string(defs, n, settings, path, buf_data(&text),
		buf_len(&text), error_r);
	buf_clear(&text);
	return ret;
}

int
cfg_set(const struct cfg_def *defs, size_t n, void *settings,
	const char *section, const char *key, const char *value, char **error_r)
{
	const struct cfg_def *def = cfg_find(defs, n, section, key);
	if (def == NULL) {
		*error_r = xasprintf("unknown key %s in section [%s]", key, section);
		return -1;
	}
	return cfg_assign(def, settings, value, error_r);
}

static bool
cfg_needs_quotes(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && (s[0] == ' ' || s[0] == '\t' || s[0] == '"' ||
		s[n - 1] == ' ' || s[n - 1] == '\t');
}

static void
cfg_print_value(struct buf *out, const char *s)
{
	if (!cfg_needs_quotes(s)) {
		buf_append_str(out, s);
		return;
	}
	buf_append_char(out, '"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			buf_append_char(out, '\\');
		buf_append_char(out, *s);
	}
	buf_append_char(out, '"');
}

/* Appends the value of def in settings as text. */
static void
cfg_format(const struct cfg_def *def, const void *settings, struct buf *out)
{
	const void *field = (const char *)settings + def->offset;
	switch (def->type) {
	case CFG_TYPE_STR: {
		const char *s = *(char *const *)field;
		cfg_print_value(out, s != NULL ? s : "");
		break;
	}
	case CFG_TYPE_LIST:
		PASSERT(!"lists are printed item by item");
		break;
	case CFG_TYPE_BOOL:
		buf_append_str(out, *(const bool *)field ? "yes" : "no");
		break;
	case CFG_TYPE_INT:
		buf_printf(out, "%lld", *(const long long *)field);
		break;
	case CFG_TYPE_SIZE:
		buf_printf(out, "%llu", (unsigned long long)*(const uint64_t *)field);
		break;
	case CFG_TYPE_DURATION: {
		long long ms = *(const long long *)field;
		if (ms % 1000 == 0)
			buf_printf(out, "%llds", ms / 1000);
		else
			buf_printf(out, "%lldms", ms);
		break;
	}
	case CFG_TYPE_ENUM:
		buf_append_str(out, def->choices[*(const int *)field]);
		break;
	}
}

void
cfg_print(const struct cfg_def *defs, size_t n, const void *settings,
	struct buf *out)
{
	const char *section = NULL;
	for (size_t i = 0; i < n; i++) {
		const struct cfg_def *def = &defs[i];
		if (section == NULL || strcmp(section, def->section) != 0) {
			section = def->section;
			if (section[0] != '\0')
				buf_printf(out, "%s[%s]\n", buf_len(out) > 0 ? "\n" : "",
					section);
		}
		if (def->help != NULL)
			buf_printf(out, "# %s%s\n", def->help,
				def->reloadable ? "" : " (restart to change)");
		if (def->type == CFG_TYPE_LIST) {
			const struct cfg_list *l = (const struct cfg_list *)
				((const char *)settings + def->offset);
			if (l->count == 0)
				buf_printf(out, "#%s =\n", def->key);
			for (size_t j = 0; j < l->count; j++) {
				buf_printf(out, "%s = ", def->key);
				cfg_print_value(out, l->items[j]);
				buf_append_char(out, '\n');
			}
			continue;
		}
		buf_printf(out, "%s = ", def->key);
		cfg_format(def, settings, out);
		buf_append_char(out, '\n');
	}
}

static bool
cfg_equal(const struct cfg_def *def, const void *a, const void *b)
{
	const void *fa = (const char *)a + def->offset;
	const void *fb = (const char *)b + def->offset;
	switch (def->type) {
	case CFG_TYPE_STR: {
		const char *sa = *(char *const *)fa, *sb = *(char *const *)fb;
		return (sa == NULL && sb == NULL) ||
			(sa != NULL && sb != NULL && strcmp(sa, sb) == 0);
	}
	case CFG_TYPE_LIST: {
		const struct cfg_list *la = fa, *lb = fb;
		if (la->count != lb->count)
			return false;
		for (size_t i = 0; i < la->count; i++) {
			if (strcmp(la->items[i], lb->items[i]) != 0)
				return false;
		}
		return true;
	}
	case CFG_TYPE_BOOL:
		return *(const bool *)fa == *(const bool *)fb;
	case CFG_TYPE_INT:
	case CFG_TYPE_DURATION:
		return *(const long long *)fa == *(const long long *)fb;
	case CFG_TYPE_SIZE:
		return *(const uint64_t *)fa == *(const uint64_t *)fb;
	case CFG_TYPE_ENUM:
		return *(const int *)fa == *(const int *)fb;
	}
	return false;
}

size_t
cfg_diff(const struct cfg_def *defs, size_t n, const void *old_settings,
	const void *new_settings, struct buf *reloadable, struct buf *restart)
{
	size_t changed = 0;
	for (size_t i = 0; i < n; i++) {
		if (cfg_equal(&defs[i], old_settings, new_settings))
			continue;
		struct buf *out = defs[i].reloadable ? reloadable : restart;
		if (buf_len(out) > 0)
			buf_append_char(out, ' ');
		if (defs[i].section[0] != '\0')
			buf_printf(out, "%s.", defs[i].section);
		buf_append_str(out, defs[i].key);
		changed++;
	}
	return changed;
}

void
cfg_free(const struct cfg_def *defs, size_t n, void *settings)
{
	for (size_t i = 0; i < n; i++) {
		void *field = cfg_field(settings, &defs[i]);
		if (defs[i].type == CFG_TYPE_STR) {
			char **p = field;
			free(*p);
			*p = NULL;
		} else if (defs[i].type == CFG_TYPE_LIST) {
			struct cfg_list *l = field;
			for (size_t j = 0; j < l->count; j++)
				free(l->items[j]);
			free(l->items);
			l->items = NULL;
			l->count = 0;
		}
	}
}
