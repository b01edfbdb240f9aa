/* postier.h: included first by every .c of the project.
 * Common macros only: assertions for bugs, attributes, array bounds. */
#ifndef POSTIER_H
#define POSTIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef POSTIER_VERSION
#define POSTIER_VERSION "0.0.0"
#endif

#define ATTR_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define ATTR_NORETURN __attribute__((noreturn))
#define ATTR_UNUSED __attribute__((unused))
#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

/* A broken invariant is a bug: log it and abort with a core. Never use it for
 * anything the network, a file or a database can cause. */
void postier_assert_failed(const char *file, int line, const char *cond)
	ATTR_NORETURN;
#define PASSERT(cond) \
	do { \
		if (!(cond)) \
			postier_assert_failed(__FILE__, __LINE__, #cond); \
	} while (0)

#endif
