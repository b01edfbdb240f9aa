/* json_lite.h: reads one top-level member of a JSON object (RFC 8259), for
 * postierd's /health and /status answers. Validates the whole document
 * (nesting bounded by JSONL_MAX_DEPTH); nested values are skipped, not
 * returned. Pure functions, no blocking. */
#ifndef JSON_LITE_H
#define JSON_LITE_H

#include <stddef.h>
#include "postier.h"

#define JSONL_MAX_DEPTH 32

/* Looks up key among the members of the top-level object. Returns 1 and sets
 * *value_r (heap, caller frees) to the unescaped string, or to the literal
 * text of a number/true/false/null, or to "{...}"/"[...]" for a nested
 * value; 0 when the key is absent; -1 when text is not a JSON object. */
int jsonl_get(const char *text, size_t len, const char *key, char **value_r);

#endif
