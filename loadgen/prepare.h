/* prepare.h: `postier-loadgen prepare`: creates the population a profile
 * needs. Appends "lg-NNNNNN@domain:password" lines to the target's users
 * file (the population `run` uses) and, when the target names a postierd
 * passwd-file, the same users with {SHA512-CRYPT} hashes to it, then runs
 * the target's reload_command. Idempotent: users already there are kept. */
#ifndef LOADGEN_PREPARE_H
#define LOADGEN_PREPARE_H

#include "postier.h"
#include "profile.h"
#include "target.h"

/* Returns 0, or -1 with *error_r (heap). *added_r: users created. Blocks
 * (files, crypt(3), the reload command). */
int prepare_population(const struct profile *p, struct target *t,
	double scale, unsigned int *added_r, char **error_r);

#endif
