/* openmetrics.h: a reader for OpenMetrics 1.0 / Prometheus text exposition
 * (what postierd's GET /metrics serves, and any other exporter).
 *
 *   OpenMetrics 1.0 "ABNF":
 *   metricset   = *metricfamily "# EOF" LF
 *   descriptor  = "#" SP ("TYPE" / "HELP" / "UNIT") SP metricname SP text LF
 *   sample      = metricname [labels] SP number [SP timestamp] [exemplar] LF
 *   labels      = "{" [label *("," label)] [","] "}"
 *   label       = label-name "=" DQUOTE escaped-string DQUOTE
 *   escaped-string: \\ \" \n escapes
 *   number      = realnumber / ["+" / "-"] ("Inf" / "inf") / "NaN"
 *
 * Tolerant on purpose: unknown "#" lines and blank lines are skipped, a
 * malformed line is counted and skipped (the rest of the scrape stays
 * usable), text after "# EOF" is ignored, CRLF is accepted. Exemplars
 * ("# {...} v") are skipped. Each sample knows its family: the name of the
 * last "# TYPE" when the sample name is that name or that name plus
 * _total/_bucket/_count/_sum/_created/_info/_gcount/_gsum, else the sample
 * name itself.
 *
 * Pure functions over bytes; never block. */
#ifndef PROTO_OPENMETRICS_H
#define PROTO_OPENMETRICS_H

#include <stdbool.h>
#include <stddef.h>
#include "postier.h"

/* A line longer than this is malformed (counted and skipped). */
#define OPENMETRICS_MAX_LINE_BYTES 65536
/* A sample with more labels than this is malformed. */
#define OPENMETRICS_MAX_LABELS 64

enum openmetrics_type {
	OPENMETRICS_TYPE_UNKNOWN,
	OPENMETRICS_TYPE_COUNTER,
	OPENMETRICS_TYPE_GAUGE,
	OPENMETRICS_TYPE_HISTOGRAM,
	OPENMETRICS_TYPE_GAUGEHISTOGRAM,
	OPENMETRICS_TYPE_SUMMARY,
	OPENMETRICS_TYPE_INFO,
	OPENMETRICS_TYPE_STATESET,
};

struct openmetrics_label {
	char *name;
	char *value; /* unescaped */
};

struct openmetrics_sample {
	char *name;    /* sample name: "postier_connections_total" */
	char *family;  /* family name: "postier_connections" */
	enum openmetrics_type type; /* of the family, UNKNOWN without # TYPE */
	struct openmetrics_label *labels;
	size_t n_labels;
	double value;  /* may be +-Inf or NaN */
	bool has_timestamp;
	double timestamp; /* seconds */
};

struct openmetrics_doc {
	struct openmetrics_sample *samples;
	size_t n_samples;
	size_t malformed_lines; /* skipped */
	bool saw_eof;           /* "# EOF" was found */
};

/* Parses a whole exposition. Never fails: malformed lines are counted.
 * Returns a document owned by the caller (openmetrics_free()). */
struct openmetrics_doc *openmetrics_parse(const char *text, size_t len);
void openmetrics_free(struct openmetrics_doc **doc);

/* Parses one line (without its LF; a trailing CR is ignored). Returns 1 and
 * fills *sample_r (owned by the caller: openmetrics_sample_clear()) for a
 * sample, 0 for a line that carries no sample (comment, descriptor, blank),
 * -1 when malformed (static reason in *error_r). family/type are left NULL
 * and UNKNOWN: the document parser fills them. */
int openmetrics_parse_sample(const char *line, size_t len,
	struct openmetrics_sample *sample_r, const char **error_r);
void openmetrics_sample_clear(struct openmetrics_sample *sample);

/* Value of a label of s, or NULL. */
const char *openmetrics_label(const struct openmetrics_sample *s,
	const char *name);

/* A filter "name=value" list: true when s has every one of the n labels
 * with that exact value. */
bool openmetrics_labels_match(const struct openmetrics_sample *s,
	const struct openmetrics_label *want, size_t n_want);

/* Parses "42", "-1.5e3", "+Inf", "-inf", "NaN". Returns 0 or -1. */
int openmetrics_parse_number(const char *s, size_t len, double *value_r);

enum openmetrics_type openmetrics_type_parse(const char *s, size_t len);

#endif
