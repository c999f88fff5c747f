/* block-vd: the hotplug backend libxl runs as `/etc/xen/scripts/block-vd add|remove` with
 * XENBUS_PATH set, for disks written 'vdev=xvda,access=rw,script=block-vd,target=vd:<id>'.
 * A thin main: all logic is vd_hotplug_add/remove in libxenvd. Nothing goes to stdout (libxl
 * copies it to xl's terminal); log lines carry the domain, device and VD.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "base/config.h"
#include "pool/db.h"
#include "base/error.h"
#include "attach/hotplug.h"
#include "attach/xs.h"

/* libxl kills the script at 40 s: give up on a busy database well before that, so the failure
 * is reported with its reason instead of a SIGKILL. */
#define DB_WAIT_MS 15000

struct log_target {
	FILE *file; /* NULL: syslog */
	int level;
	const char *command;
	const char *xenbus_path;
	const struct vd_attacher *h;
};

static void log_line(enum vd_log_level level, const char *msg, void *userdata)
{
	const struct log_target *t = userdata;
	char who[160], stamp[32], dom[24] = "?", dev[24] = "?", vd[24] = "?";
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	time_t now = time(NULL);
	struct tm tm;

	if ((int)level > t->level)
		return;
	if (t->h && t->h->domid >= 0)
		snprintf(dom, sizeof(dom), "%" PRId64, t->h->domid);
	if (t->h && t->h->devid >= 0)
		snprintf(dev, sizeof(dev), "%" PRId64, t->h->devid);
	if (t->h && t->h->vd_id)
		snprintf(vd, sizeof(vd), "%" PRIu32, t->h->vd_id);
	snprintf(who, sizeof(who), "%s dom %s dev %s vd:%s", t->command, dom, dev, vd);
	if (!t->file) {
		syslog(prio[level], "%s: %s", who, msg);
		return;
	}
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(t->file, "%s block-vd[%d]: %s: %s\n", stamp, (int)getpid(), who, msg);
	fflush(t->file);
}

/* stdout must stay silent; stray library output on stderr lands in the log, as the stock
 * scripts' `exec 2>>$XEN_LOG` does. */
static void redirect_stdio(FILE *log)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		close(null);
	}
	if (log)
		dup2(fileno(log), STDERR_FILENO);
}

/* ".../vbd/<frontend domid>/<devid>": known before xenstore answers, for the first log lines. */
static void ids_from_path(const char *path, struct vd_attacher *h)
{
	unsigned long dom, dev;
	const char *p = path ? strstr(path, "vbd/") : NULL;

	if (p && sscanf(p, "vbd/%lu/%lu", &dom, &dev) == 2) {
		h->domid = (int64_t)dom;
		h->devid = (int64_t)dev;
	}
}

int main(int argc, char **argv)
{
	struct vd_config cfg = { 0 };
	struct log_target log = { .level = VD_LOG_INFO };
	struct vd_attacher h;
	struct vd_phases phases = { .detail = getenv("XENVD_PHASES_DETAIL") != NULL };
	struct vd_db *db = NULL;
	struct vd_xs *xs = NULL;
	const char *path = getenv("XENBUS_PATH");
	bool add;
	int r;

	if (argc != 2 || (strcmp(argv[1], "add") != 0 && strcmp(argv[1], "remove") != 0)) {
		fprintf(stderr, "Usage: block-vd add|remove (run by libxl with XENBUS_PATH set)\n");
		return 2;
	}
	vd_phases_start(&phases);
	vd_phases_mark(&phases, "start");
	add = strcmp(argv[1], "add") == 0;
	log.command = argv[1];
	log.xenbus_path = path;

	r = vd_config_load(NULL, &cfg);
	if (cfg.hotplug_log)
		log.file = fopen(cfg.hotplug_log, "ae");
	if (!log.file)
		openlog("block-vd", LOG_PID, LOG_DAEMON);
	if (r == 0 && cfg.log_level > VD_LOG_INFO)
		log.level = cfg.log_level;
	vd_log_set_level(log.level);
	vd_log_set_sink(log_line, &log);
	redirect_stdio(log.file);

	vd_attacher_init(&h, NULL, NULL);
	h.phases = &phases;
	ids_from_path(path, &h);
	vd_phases_mark(&phases, "config");
	log.h = &h;
	if (r < 0) {
		/* A broken configuration file must not attach with unintended settings. */
		vd_log(VD_LOG_ERR, "%s", vd_errmsg());
		goto out;
	}
	vd_info("%s %s", argv[1], path ? path : "(XENBUS_PATH unset)");

	r = vd_xs_open(NULL, &xs);
	if (r < 0) {
		vd_log(VD_LOG_ERR, "%s", vd_errmsg());
		goto out;
	}
	h.xs = xs;
	h.sharing_level = cfg.sharing_level;
	vd_phases_mark(&phases, "xs-open");

	r = vd_db_open(cfg.db_path, 0, &db);
	if (r < 0) {
		_cleanup_free_ char *be = NULL;

		vd_err_prefix(r, "cannot open the xenvd database");
		vd_log(VD_LOG_ERR, "%s", vd_errmsg());
		if (add && path && vd_xs_absolute(xs, path, &be) == 0)
			(void)vd_hotplug_write_error(xs, be, h.domid, false, vd_errmsg());
		goto out;
	}
	vd_db_set_wait(db, DB_WAIT_MS);
	h.db = db;
	vd_phases_mark(&phases, "db-open");

	r = add ? vd_hotplug_add(&h, path) : vd_hotplug_remove(&h, path);
	/* where the time went (ms per step), for slow-attach reports and bench/bench_hotplug.sh */
	vd_debug("%s %s in %.1f ms: %s", argv[1], r < 0 ? "failed" : "done",
		 vd_phases_total_ms(&phases), phases.text);
out:
	if (db)
		vd_db_close(db);
	vd_xs_close(xs);
	vd_config_dispose(&cfg);
	vd_log_set_sink(NULL, NULL);
	if (log.file)
		fclose(log.file);
	else
		closelog();
	return r < 0 ? 1 : 0;
}
