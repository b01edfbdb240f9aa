/* lgsched.h: the open-loop arrival schedule. Arrivals are a Poisson process
 * whose rate is constant within each hour of the profile's window (an
 * exponential gap drawn at the hour's rate; crossing into the next hour
 * restarts at the boundary with the new rate, exact because the exponential
 * is memoryless). Times are fixed by the seed alone, never by replies: the
 * load generator sends each message at its scheduled time and measures from
 * it. A pure computation: no clock, no I/O. */
#ifndef LOADGEN_LGSCHED_H
#define LOADGEN_LGSCHED_H

#include <stdint.h>
#include "postier.h"
#include "rng.h"

#define SCHED_MAX_HOURS 24

struct sched {
	double rate[SCHED_MAX_HOURS];	/* arrivals per day-hour */
	unsigned int hours;
	double window_s;		/* day seconds of the window */
	double speed;			/* day seconds per real second */
	double t;			/* current day time, seconds */
	uint64_t seq;			/* arrivals so far (all shards) */
	unsigned int shard, shards;
	struct rng rng;
};

/* rate_per_hour[h]: arrivals during hour h of the day (already scaled);
 * window_hours may end inside the last hour. Each shard i of n keeps the
 * arrivals with seq % n == i of the same seeded stream, so the shards
 * together replay exactly the unsharded run. */
void sched_init(struct sched *s, const double *rate_per_hour,
	unsigned int hours, double window_hours, double speed, uint64_t seed,
	unsigned int shard, unsigned int shards);

/* Next arrival of this shard: returns 1 and sets *real_s_r (seconds of
 * real time since the start) and *seq_r (global sequence number, from 0);
 * returns 0 when the window is over. */
int sched_next(struct sched *s, double *real_s_r, uint64_t *seq_r);

#endif
