/* Create and lookup latency in pools of 10^4, 10^5 and 10^6 extents (p50, p99), and the time to
 * format each pool device. Real SQLite file, real (sparse) file-backed pool device, the same
 * library calls xl-vd makes. Target: p50 < 2 ms at 10^6, not growing with the pool. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/error.h"
#include "pool/pool.h"
#include "pool/vdisk.h"

#define EXTENT (64 * 1024)

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double pct(double *v, size_t n, double p)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[(size_t)(p * (double)(n - 1))];
}

static int run(uint64_t extents, int ops, double *ret_create_p50)
{
	char dir[] = "/tmp/xenvd-bench-XXXXXX", db_path[64], dev[64], cmd[96];
	struct vd_format_opts fo = { .extent_size = EXTENT };
	struct vd_db *db = NULL;
	double *create_ms = calloc((size_t)ops, sizeof(double));
	double *lookup_ms = calloc((size_t)ops, sizeof(double));
	uint32_t *ids = calloc((size_t)ops, sizeof(uint32_t));
	double t0, format_ms;
	int fd, r;

	if (!mkdtemp(dir) || !create_ms || !lookup_ms || !ids)
		return -ENOMEM;
	snprintf(db_path, sizeof(db_path), "%s/xenvd.db", dir);
	snprintf(dev, sizeof(dev), "%s/pool.img", dir);
	fd = open(dev, O_RDWR | O_CREAT, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)(1048576 + extents * EXTENT)) < 0)
		return -errno;
	close(fd);
	r = vd_db_open(db_path, VD_DB_CREATE, &db);
	if (r < 0)
		goto out;
	t0 = now_ms();
	r = vd_pool_format(db, dev, &fo, NULL);
	format_ms = now_ms() - t0;
	if (r < 0)
		goto out;

	/* Fragment the pool first: 2000 one-extent VDs, every other one deleted and reclaimed, so
	 * the measured creates must search past 1000 one-extent holes for their runs. */
	for (int i = 0; i < 2000; i++) {
		struct vd_create_opts co = { .size = EXTENT };
		struct vd_vdisk v = { 0 };

		r = vd_vdisk_create(db, &co, NULL, NULL, &v);
		if (r == 0 && i % 2 == 0)
			r = vd_vdisk_delete(db, v.id, false);
		vd_vdisk_dispose(&v);
		if (r < 0)
			goto out;
	}
	r = vd_vdisk_gc(db, NULL, NULL, NULL);
	if (r < 0)
		goto out;
	for (int i = 0; i < ops; i++) {
		struct vd_create_opts co = { .size = (uint64_t)(1 + i % 4) * EXTENT };
		struct vd_vdisk v = { 0 };

		t0 = now_ms();
		r = vd_vdisk_create(db, &co, NULL, NULL, &v);
		create_ms[i] = now_ms() - t0;
		if (r < 0)
			goto out;
		ids[i] = v.id;
		vd_vdisk_dispose(&v);
	}
	for (int i = 0; i < ops; i++) {
		struct vd_run *segs = NULL;
		size_t n = 0;
		uint32_t id = ids[(i * 7919) % ops];

		t0 = now_ms();
		r = vd_vdisk_runs(db, id, O_RDONLY, &segs, &n);
		lookup_ms[i] = now_ms() - t0;
		vd_vdisk_runs_free(segs, n);
		if (r < 0)
			goto out;
	}
	double c50 = pct(create_ms, (size_t)ops, 0.5), c99 = pct(create_ms, (size_t)ops, 0.99);
	double l50 = pct(lookup_ms, (size_t)ops, 0.5), l99 = pct(lookup_ms, (size_t)ops, 0.99);
	printf("%9llu extents  format %8.1f ms  create p50 %6.3f ms p99 %6.3f ms  "
	       "lookup p50 %6.3f ms p99 %6.3f ms\n", (unsigned long long)extents, format_ms, c50,
	       c99, l50, l99);
	*ret_create_p50 = c50;
out:
	if (r < 0)
		fprintf(stderr, "bench: %s\n", vd_errmsg());
	vd_db_close(db);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench: could not remove %s\n", dir);
	free(create_ms);
	free(lookup_ms);
	free(ids);
	return r;
}

int main(int argc, char **argv)
{
	int ops = argc > 1 ? atoi(argv[1]) : 500;
	double p50[3];
	uint64_t sizes[3] = { 10000, 100000, 1000000 };

	printf("xenvd allocation benchmark: %d creates (1-4 extents of 64K) and %d lookups per "
	       "pool, after fragmenting it with 1000 one-extent holes\n", ops, ops);
	for (int i = 0; i < 3; i++)
		if (run(sizes[i], ops, &p50[i]) < 0)
			return 1;
	printf("create p50 growth 10^4 -> 10^6 extents: %.2fx (target: flat, p50 < 2 ms at 10^6: "
	       "%s)\n", p50[2] / p50[0], p50[2] < 2.0 ? "met" : "NOT met");
	return 0;
}
