/* json.h: a small JSON reader (RFC 8259) into a tree, enough to read back
 * our own result files for `merge`, and a string escaper for writing.
 * Depth and size are bounded; \u escapes outside ASCII become '?'. */
#ifndef LOADGEN_JSON_H
#define LOADGEN_JSON_H

#include <stddef.h>
#include "postier.h"
#include "core/buf.h"

#define JSON_MAX_DEPTH 32

enum json_type {
	JSON_NULL,
	JSON_BOOL,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

struct json {
	enum json_type type;
	bool boolean;
	double number;
	char *string;		/* JSON_STRING; member name is in key */
	char *key;		/* set on object members */
	struct json *child;	/* first element / member */
	struct json *next;	/* next sibling */
};

/* Parses text. Returns the tree (free with json_free()) or NULL with
 * *error_r (heap) saying where. */
struct json *json_parse(const char *text, size_t len, char **error_r);
void json_free(struct json **j);
/* Member of an object by name, NULL if absent or j is not an object. */
const struct json *json_get(const struct json *j, const char *key);
/* Typed member accessors with a default. */
double json_get_number(const struct json *j, const char *key, double def);
const char *json_get_string(const struct json *j, const char *key,
	const char *def);
/* Appends s as a JSON string literal (quotes included). */
void json_append_string(struct buf *out, const char *s);

#endif
