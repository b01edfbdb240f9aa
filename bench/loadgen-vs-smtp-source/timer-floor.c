/* timer-floor.c: how late this machine wakes a process that sleeps until
 * an absolute time, with nothing else to do: Poisson arrivals at RATE per
 * second for SECONDS, each waited for the way postier-loadgen waits (an
 * absolute CLOCK_MONOTONIC timerfd in epoll). Prints the lateness
 * percentiles in ms as one JSON object. The floor under postier-loadgen's
 * scheduling error: on a VM whose idle vCPUs are halted by the host, the
 * wake-up of an idle CPU alone can take a millisecond.
 *
 *     timer-floor RATE SECONDS SEED */
#define _GNU_SOURCE
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static int64_t
now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int
cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: timer-floor RATE SECONDS SEED\n");
		return 2;
	}
	double rate = atof(argv[1]), seconds = atof(argv[2]);
	srand48(atol(argv[3]));
	size_t cap = (size_t)(rate * seconds * 2 + 100), n = 0;
	int64_t *late = malloc(cap * sizeof(*late));
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN };
	if (late == NULL || tfd < 0 || ep < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev) < 0) {
		perror("timer-floor");
		return 2;
	}
	int64_t start = now_us(), end = start + (int64_t)(seconds * 1e6);
	int64_t due = start;
	while (n < cap) {
		due += (int64_t)(-log(1.0 - drand48()) / rate * 1e6);
		if (due > end)
			break;
		struct itimerspec its = { .it_value = { (time_t)(due / 1000000),
			(long)(due % 1000000) * 1000 } };
		timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
		if (epoll_wait(ep, &ev, 1, -1) != 1)
			continue;
		int64_t t = now_us();
		uint64_t x;
		if (read(tfd, &x, sizeof(x)) < 0)
			perror("read");
		late[n++] = t - due;
	}
	if (n == 0)
		return 2;
	qsort(late, n, sizeof(*late), cmp);
	printf("{\"count\": %zu, \"p50\": %.3f, \"p99\": %.3f, \"p999\": %.3f, "
	       "\"max\": %.3f}\n", n, late[n / 2] / 1e3,
	       late[n * 99 / 100] / 1e3, late[n * 999 / 1000] / 1e3,
	       late[n - 1] / 1e3);
	return 0;
}
