/* The integration test's view of the active-VD lease (tests/integration/holder_sanlock.sh):
 * what block-vd does around the first dm device of a shared pool, and what its last remover
 * does, through the real holder and sanlock daemon, without device-mapper.
 *   holder-probe hold LOCKSPACE PATH      the holder holds the lease (slot 2 of the lease area
 *                                         at offset 0 of PATH, 512-byte sectors)
 *   holder-probe release LOCKSPACE PATH   the last remover: releases it when no dm device of
 *                                         the pool exists (none can here: no device-mapper)
 *   holder-probe count LOCKSPACE PATH     how many times the holder holds it
 */
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "attach/dm.h"
#include "attach/holder.h"

static void sink(enum vd_log_level level, const char *msg, void *userdata)
{
	(void)level;
	(void)userdata;
	fprintf(stderr, "holder-probe: %s\n", msg);
}

int main(int argc, char **argv)
{
	struct vd_sanlock_area area;
	uint8_t pool[16];
	unsigned held = 0;
	pid_t pid;
	int r, fd = -1;
	bool released = false;

	if (argc != 4 || strlen(argv[2]) != 32) {
		fprintf(stderr, "usage: holder-probe hold|release|count LOCKSPACE(32 hex) PATH\n");
		return 2;
	}
	vd_log_set_sink(sink, NULL);
	vd_log_set_level(VD_LOG_INFO);
	for (int i = 0; i < 16; i++) {
		unsigned v;

		if (sscanf(argv[2] + 2 * i, "%2x", &v) != 1)
			return 2;
		pool[i] = (uint8_t)v;
	}
	r = vd_sanlock_area_init(&area, pool, argv[3], 0, 512);
	if (r == 0 && !strcmp(argv[1], "hold")) {
		r = vd_lease_holder_ops.hold(&area, pool, &fd);
		if (r == 0)
			close(fd);
	} else if (r == 0 && !strcmp(argv[1], "release")) {
		r = vd_lease_holder_ops.release_if_idle(&area, pool, &vd_dm_libdevmapper_ops,
							&released);
		if (r == 0)
			printf("%s\n", released ? "released" : "kept");
	} else if (r == 0 && !strcmp(argv[1], "count")) {
		r = vd_holder_pid(&pid);
		if (r == 0)
			r = vd_sanlock_held_count(&area, VD_SANLOCK_ACTIVE_RESOURCE, pid, &held);
		if (r == 0)
			printf("%u\n", held);
	} else if (r == 0) {
		fprintf(stderr, "holder-probe: unknown action %s\n", argv[1]);
		return 2;
	}
	if (r < 0) {
		fprintf(stderr, "holder-probe: %s\n", vd_errmsg());
		return 1;
	}
	return 0;
}
