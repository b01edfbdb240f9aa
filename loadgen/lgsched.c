/* lgsched.c: Poisson arrivals per hour of the curve (see lgsched.h). */
#include "postier.h"

#include <string.h>

#include "lgsched.h"

void
sched_init(struct sched *s, const double *rate_per_hour, unsigned int hours,
	double window_hours, double speed, uint64_t seed, unsigned int shard,
	unsigned int shards)
{
	memset(s, 0, sizeof(*s));
	if (hours > SCHED_MAX_HOURS)
		hours = SCHED_MAX_HOURS;
	memcpy(s->rate, rate_per_hour, hours * sizeof(*s->rate));
	s->hours = hours;
	s->window_s = window_hours * 3600.0;
	s->speed = speed > 0 ? speed : 1;
	s->shard = shard;
	s->shards = shards > 0 ? shards : 1;
	rng_seed(&s->rng, seed);
}

/* Next arrival of the whole stream, day seconds; -1 when over. */
static double
sched_next_any(struct sched *s)
{
	for (;;) {
		if (s->t >= s->window_s)
			return -1;
		unsigned int h = (unsigned int)(s->t / 3600.0);
		if (h >= s->hours)
			return -1;
		double hour_end = (h + 1) * 3600.0;
		if (hour_end > s->window_s)
			hour_end = s->window_s;
		double rate_per_s = s->rate[h] / 3600.0;
		if (rate_per_s <= 0) {
			s->t = hour_end;
			continue;
		}
		double t = s->t + rng_exponential(&s->rng, 1.0 / rate_per_s);
		if (t >= hour_end) {
			s->t = hour_end;
			continue;
		}
		s->t = t;
		return t;
	}
}

int
sched_next(struct sched *s, double *real_s_r, uint64_t *seq_r)
{
	for (;;) {
		double t = sched_next_any(s);
		if (t < 0)
			return 0;
		uint64_t seq = s->seq++;
		if (seq % s->shards != s->shard)
			continue;
		*real_s_r = t / s->speed;
		*seq_r = seq;
		return 1;
	}
}
