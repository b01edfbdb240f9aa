/* rng.h: small deterministic random numbers (splitmix64 seeding a
 * xoshiro256** stream), so a seeded run is repeatable on every machine. */
#ifndef LOADGEN_RNG_H
#define LOADGEN_RNG_H

#include <math.h>
#include <stdint.h>
#include "postier.h"

struct rng {
	uint64_t s[4];
};

static inline uint64_t
rng_splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline void
rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = rng_splitmix(&seed);
}

static inline uint64_t
rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t x = s[1] * 5;
	uint64_t result = ((x << 7) | (x >> 57)) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = (s[3] << 45) | (s[3] >> 19);
	return result;
}

/* Uniform in (0, 1): never 0, so log() is safe. */
static inline double
rng_unit(struct rng *r)
{
	return ((double)(rng_next(r) >> 11) + 0.5) / 9007199254740992.0;
}

/* Uniform integer in [0, n). */
static inline uint64_t
rng_below(struct rng *r, uint64_t n)
{
	return n > 0 ? rng_next(r) % n : 0;
}

static inline double
rng_exponential(struct rng *r, double mean)
{
	return -log(rng_unit(r)) * mean;
}

static inline double
rng_normal(struct rng *r)
{
	return sqrt(-2.0 * log(rng_unit(r))) * cos(2.0 * M_PI * rng_unit(r));
}

#endif
