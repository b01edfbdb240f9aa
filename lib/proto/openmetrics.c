/* openmetrics.c: OpenMetrics / Prometheus text reader (see the header for
 * the grammar and what is tolerated). */
#include "postier.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/xmalloc.h"
#include "proto/openmetrics.h"

static bool
is_name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
		c == ':';
}

static bool
is_name_char(char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

static bool
is_label_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool
is_label_char(char c)
{
	return is_label_start(c) || (c >= '0' && c <= '9');
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* realnumber: decimal with optional fraction and exponent, as Go's
 * ParseFloat and Python's float() read the exposition. */
static bool
is_decimal(const char *s, size_t len)
{
	size_t i = 0, digits = 0;

	if (i < len && (s[i] == '+' || s[i] == '-'))
		i++;
	while (i < len && s[i] >= '0' && s[i] <= '9')
		i++, digits++;
	if (i < len && s[i] == '.') {
		i++;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++, digits++;
	}
	if (digits == 0)
		return false;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		size_t exp = 0;
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++, exp++;
		if (exp == 0)
			return false;
	}
	return i == len;
}

int
openmetrics_parse_number(const char *s, size_t len, double *value_r)
{
	char tmp[128];

	if (len == 0 || len >= sizeof(tmp))
		return -1;
	size_t off = (s[0] == '+' || s[0] == '-') ? 1 : 0;
	if (len - off == 3 && strncasecmp(s + off, "inf", 3) == 0) {
		*value_r = s[0] == '-' ? -INFINITY : INFINITY;
		return 0;
	}
	if (len == 3 && strncasecmp(s, "nan", 3) == 0) {
		*value_r = NAN;
		return 0;
	}
	if (!is_decimal(s, len))
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	*value_r = strtod(tmp, NULL); /* overflow gives +-HUGE_VAL: Inf */
	return 0;
}

enum openmetrics_type
openmetrics_type_parse(const char *s, size_t len)
{
	static const struct {
		const char *name;
		enum openmetrics_type type;
	} types[] = {
		{ "counter", OPENMETRICS_TYPE_COUNTER },
		{ "gauge", OPENMETRICS_TYPE_GAUGE },
		{ "histogram", OPENMETRICS_TYPE_HISTOGRAM },
		{ "gaugehistogram", OPENMETRICS_TYPE_GAUGEHISTOGRAM },
		{ "summary", OPENMETRICS_TYPE_SUMMARY },
		{ "info", OPENMETRICS_TYPE_INFO },
		{ "stateset", OPENMETRICS_TYPE_STATESET },
	};
	for (size_t i = 0; i < N_ELEMENTS(types); i++) {
		if (strlen(types[i].name) == len &&
		    memcmp(types[i].name, s, len) == 0)
			return types[i].type;
	}
	return OPENMETRICS_TYPE_UNKNOWN;
}

void
openmetrics_sample_clear(struct openmetrics_sample *s)
{
	free(s->name);
	free(s->family);
	for (size_t i = 0; i < s->n_labels; i++) {
		free(s->labels[i].name);
		free(s->labels[i].value);
	}
	free(s->labels);
	memset(s, 0, sizeof(*s));
}

/* label = label-name "=" DQUOTE escaped-string DQUOTE; *pos is just after
 * '{' or ','. Returns 0 and moves *pos past the closing quote, or -1. */
static int
parse_label(const char *line, size_t len, size_t *pos,
	struct openmetrics_label *label_r, const char **error_r)
{
	size_t i = *pos;
	size_t start = i;

	if (i >= len || !is_label_start(line[i])) {
		*error_r = "bad label name";
		return -1;
	}
	while (i < len && is_label_char(line[i]))
		i++;
	size_t name_end = i;
	if (i + 1 >= len || line[i] != '=' || line[i + 1] != '"') {
		*error_r = "label without =\"value\"";
		return -1;
	}
	i += 2;
	struct buf value;
	buf_init(&value);
	for (;;) {
		if (i >= len) {
			buf_clear(&value);
			*error_r = "unterminated label value";
			return -1;
		}
		char c = line[i++];
		if (c == '"')
			break;
		if (c == '\\') {
			if (i >= len) {
				buf_clear(&value);
				*error_r = "unterminated label value";
				return -1;
			}
			c = line[i++];
			if (c == 'n') {
				c = '\n';
			} else if (c != '\\' && c != '"') {
				buf_clear(&value);
				*error_r = "bad escape in label value";
				return -1;
			}
		}
		buf_append_char(&value, c);
	}
	label_r->name = xstrndup(line + start, name_end - start);
	label_r->value = buf_steal(&value);
	*pos = i;
	return 0;
}

int
openmetrics_parse_sample(const char *line, size_t len,
	struct openmetrics_sample *sample_r, const char **error_r)
{
	struct openmetrics_sample s;
	size_t i = 0;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > OPENMETRICS_MAX_LINE_BYTES) {
		*error_r = "line too long";
		return -1;
	}
	if (len == 0 || line[0] == '#')
		return 0;
	memset(&s, 0, sizeof(s));
	if (!is_name_start(line[0])) {
		*error_r = "bad metric name";
		return -1;
	}
	while (i < len && is_name_char(line[i]))
		i++;
	s.name = xstrndup(line, i);
	if (i < len && line[i] == '{') {
		size_t cap = 0;
		i++;
		for (;;) {
			if (i < len && line[i] == '}') {
				i++;
				break;
			}
			if (s.n_labels == OPENMETRICS_MAX_LABELS) {
				*error_r = "too many labels";
				goto fail;
			}
			if (s.n_labels == cap) {
				cap = cap == 0 ? 4 : cap * 2;
				s.labels = xrealloc(s.labels,
					cap * sizeof(s.labels[0]));
			}
			if (parse_label(line, len, &i, &s.labels[s.n_labels],
			    error_r) < 0)
				goto fail;
			s.n_labels++;
			if (i < len && line[i] == ',') {
				i++;
			} else if (i >= len || line[i] != '}') {
				*error_r = "expected ',' or '}'";
				goto fail;
			}
		}
	}
	if (i >= len || !is_space(line[i])) {
		*error_r = "no value";
		goto fail;
	}
	while (i < len && is_space(line[i]))
		i++;
	size_t vstart = i;
	while (i < len && !is_space(line[i]))
		i++;
	if (openmetrics_parse_number(line + vstart, i - vstart, &s.value) < 0) {
		*error_r = "bad value";
		goto fail;
	}
	while (i < len && is_space(line[i]))
		i++;
	if (i < len && line[i] != '#') {
		size_t tstart = i;
		while (i < len && !is_space(line[i]))
			i++;
		if (openmetrics_parse_number(line + tstart, i - tstart,
		    &s.timestamp) < 0 || !isfinite(s.timestamp)) {
			*error_r = "bad timestamp";
			goto fail;
		}
		s.has_timestamp = true;
		while (i < len && is_space(line[i]))
			i++;
	}
	/* an exemplar ("# {...} value [ts]") is allowed and skipped */
	if (i < len && line[i] != '#') {
		*error_r = "trailing bytes after the sample";
		goto fail;
	}
	*sample_r = s;
	return 1;
fail:
	openmetrics_sample_clear(&s);
	return -1;
}

static const char *const family_suffixes[] = {
	"_total", "_bucket", "_count", "_sum", "_created", "_info", "_gcount",
	"_gsum",
};

static bool
in_family(const char *sample, const char *family)
{
	size_t flen = strlen(family);
	if (strncmp(sample, family, flen) != 0)
		return false;
	if (sample[flen] == '\0')
		return true;
	for (size_t i = 0; i < N_ELEMENTS(family_suffixes); i++) {
		if (strcmp(sample + flen, family_suffixes[i]) == 0)
			return true;
	}
	return false;
}

/* "# TYPE name type": returns true and sets the current family. */
static bool
parse_type_line(const char *line, size_t len, char **family_r,
	enum openmetrics_type *type_r)
{
	static const char prefix[] = "# TYPE ";
	size_t plen = sizeof(prefix) - 1;

	if (len <= plen || memcmp(line, prefix, plen) != 0)
		return false;
	size_t i = plen;
	size_t start = i;
	if (!is_name_start(line[i]))
		return false;
	while (i < len && is_name_char(line[i]))
		i++;
	size_t name_end = i;
	if (i >= len || line[i] != ' ')
		return false;
	i++;
	*type_r = openmetrics_type_parse(line + i, len - i);
	*family_r = xstrndup(line + start, name_end - start);
	return true;
}

struct openmetrics_doc *
openmetrics_parse(const char *text, size_t len)
{
	struct openmetrics_doc *doc = xcalloc(1, sizeof(*doc));
	size_t cap = 0;
	char *family = NULL;
	enum openmetrics_type type = OPENMETRICS_TYPE_UNKNOWN;
	size_t pos = 0;

	while (pos < len) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t line_len = nl != NULL ? (size_t)(nl - line) : len - pos;
		pos += line_len + (nl != NULL ? 1 : 0);
		size_t l = line_len;
		if (l > 0 && line[l - 1] == '\r')
			l--;
		if (l == 5 && memcmp(line, "# EOF", 5) == 0) {
			doc->saw_eof = true;
			break;
		}
		if (l > 0 && line[0] == '#') {
			char *fam;
			enum openmetrics_type t;
			if (parse_type_line(line, l, &fam, &t)) {
				free(family);
				family = fam;
				type = t;
			}
			continue;
		}
		struct openmetrics_sample s;
		const char *error;
		int ret = openmetrics_parse_sample(line, l, &s, &error);
		if (ret < 0) {
			doc->malformed_lines++;
			continue;
		}
		if (ret == 0)
			continue;
		if (family != NULL && in_family(s.name, family)) {
			s.family = xstrdup(family);
			s.type = type;
		} else {
			s.family = xstrdup(s.name);
			s.type = OPENMETRICS_TYPE_UNKNOWN;
		}
		if (doc->n_samples == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			doc->samples = xrealloc(doc->samples,
				cap * sizeof(doc->samples[0]));
		}
		doc->samples[doc->n_samples++] = s;
	}
	free(family);
	return doc;
}

void
openmetrics_free(struct openmetrics_doc **docp)
{
	struct openmetrics_doc *doc = *docp;

	if (doc == NULL)
		return;
	for (size_t i = 0; i < doc->n_samples; i++)
		openmetrics_sample_clear(&doc->samples[i]);
	free(doc->samples);
	free(doc);
	*docp = NULL;
}

const char *
openmetrics_label(const struct openmetrics_sample *s, const char *name)
{
	for (size_t i = 0; i < s->n_labels; i++) {
		if (strcmp(s->labels[i].name, name) == 0)
			return s->labels[i].value;
	}
	return NULL;
}

bool
openmetrics_labels_match(const struct openmetrics_sample *s,
	const struct openmetrics_label *want, size_t n_want)
{
	for (size_t i = 0; i < n_want; i++) {
		const char *v = openmetrics_label(s, want[i].name);
		if (v == NULL || strcmp(v, want[i].value) != 0)
			return false;
	}
	return true;
}
