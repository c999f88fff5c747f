/* sanlock-probe: the leases held on behalf of another process, for tests/integration/
 * xlvd_shared.sh, on the shared pool the configuration (or $XENVD_DB) names:
 *   sanlock-probe format SLOT NAME        writes a fresh lease NAME in SLOT of the lease area
 *   sanlock-probe register                registers with sanlock (unkillable by it), prints
 *                                         its pid, then waits until its stdin closes
 *   sanlock-probe acquire PID SLOT NAME shared|exclusive
 *   sanlock-probe release PID SLOT NAME   on behalf of the registered process PID
 * Exit 0 on success, 3 when the lease is busy, 1 on any other error (message on stderr). */
#include <stdio.h>
#include <string.h>

#include "base/config.h"
#include "base/error.h"
#include "pool/shared.h"

int main(int argc, char **argv)
{
	struct vd_sanlock_area sa;
	struct vd_config cfg;
	int r;

	if (argc < 2 || vd_config_load(NULL, &cfg) < 0 || vd_shared_area(cfg.db_path, &sa) < 0) {
		fprintf(stderr, "sanlock-probe: %s\n", argc < 2 ? "usage: see the source" : vd_errmsg());
		return 1;
	}
	if (!strcmp(argv[1], "format") && argc == 4) {
		r = vd_sanlock_resource_format(&sa, (unsigned)atoi(argv[2]), argv[3]);
	} else if (!strcmp(argv[1], "register") && argc == 2) {
		char c;

		r = vd_sanlock_register(true);
		if (r == 0) {
			printf("%d\n", (int)getpid());
			fflush(stdout);
			while (read(STDIN_FILENO, &c, 1) > 0)
				;
		}
	} else if (!strcmp(argv[1], "acquire") && argc == 6) {
		r = vd_sanlock_acquire(&sa, (unsigned)atoi(argv[3]), argv[4],
				       !strcmp(argv[5], "shared"), (pid_t)atoi(argv[2]));
	} else if (!strcmp(argv[1], "release") && argc == 5) {
		r = vd_sanlock_release(&sa, (unsigned)atoi(argv[3]), argv[4], (pid_t)atoi(argv[2]));
	} else {
		fprintf(stderr, "sanlock-probe: unknown command or wrong arguments\n");
		return 1;
	}
	vd_config_dispose(&cfg);
	if (r < 0)
		fprintf(stderr, "sanlock-probe: %s\n", vd_errmsg());
	return r == -EBUSY ? 3 : r < 0;
}
