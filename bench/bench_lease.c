/* bench_lease: the floor under a shared pool's metadata operation. N times, in one process
 * registered with sanlock: acquire the pool's metadata lease, release it; prints the mean
 * microseconds of each ("acquire_us=... release_us=..."). The pool is the one the
 * configuration (or $XENVD_DB) names; this host must have joined its lockspace. bench_shared.sh
 * runs it beside the operations it measures. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/config.h"
#include "base/error.h"
#include "pool/shared.h"

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
	struct vd_sanlock_area sa;
	struct vd_config cfg;
	uint64_t acq = 0, rel = 0, t0, t1, t2;
	int n = argc > 1 ? atoi(argv[1]) : 50, r;

	if (n <= 0 || vd_config_load(NULL, &cfg) < 0 || vd_shared_area(cfg.db_path, &sa) < 0) {
		fprintf(stderr, "bench_lease: %s\n", n <= 0 ? "usage: bench_lease [N]" : vd_errmsg());
		return 1;
	}
	for (int i = 0; i < n; i++) {
		t0 = now_us();
		r = vd_sanlock_md_acquire(&sa);
		t1 = now_us();
		if (r == 0)
			r = vd_sanlock_md_release(&sa);
		t2 = now_us();
		if (r < 0) {
			fprintf(stderr, "bench_lease: %s\n", vd_errmsg());
			return 1;
		}
		acq += t1 - t0;
		rel += t2 - t1;
	}
	printf("acquire_us=%llu release_us=%llu\n", (unsigned long long)(acq / n),
	       (unsigned long long)(rel / n));
	vd_config_dispose(&cfg);
	return 0;
}
