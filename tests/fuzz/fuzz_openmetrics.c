/* fuzz_openmetrics.c: lib/proto/openmetrics.c on arbitrary scrapes. Checks
 * that every sample has a name and a family and that labels are set. */
#include "postier.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/openmetrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct openmetrics_doc *doc = openmetrics_parse((const char *)data,
		size);
	for (size_t i = 0; i < doc->n_samples; i++) {
		const struct openmetrics_sample *s = &doc->samples[i];
		if (s->name == NULL || s->family == NULL || s->name[0] == '\0')
			abort();
		for (size_t k = 0; k < s->n_labels; k++) {
			if (s->labels[k].name == NULL ||
			    s->labels[k].value == NULL)
				abort();
		}
		struct openmetrics_label want = { "proto", "smtp" };
		(void)openmetrics_labels_match(s, &want, 1);
	}
	openmetrics_free(&doc);
	return 0;
}
