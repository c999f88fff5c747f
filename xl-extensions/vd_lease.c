/* xl-vd lease-hold: this host's active-VD lease holder (attach/holder.h), and starting it. */
#include <fcntl.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "xl-vd.h"
#include "attach/dm.h"
#include "attach/holder.h"

/* How often the holder looks for pools whose last dm device went without a release. */
#define HOLDER_INTERVAL_MS 10000

static void syslog_sink(enum vd_log_level level, const char *msg, void *userdata)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

	(void)userdata;
	syslog(prio[level], "%s", msg);
}

static void stderr_sink(enum vd_log_level level, const char *msg, void *userdata)
{
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;

	(void)userdata;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(stderr, "%s xl-vd lease-hold[%d]: %s%s\n", stamp, (int)getpid(),
		level <= VD_LOG_WARN ? "warning: " : "", msg);
	fflush(stderr);
}

/* Fault injection for tests/integration/holder_sanlock.sh on a kernel without device-mapper:
 * with $XENVD_HOLDER_FAKE_DM set, the holder sees the dm devices whose DM UUIDs that file lists
 * (one a line) instead of the kernel's. Only list() is used by the holder. */
static const char *fake_dm_file;

static int fake_dm_list(const char *prefix, struct vd_dm_info **ret, size_t *ret_n)
{
	_cleanup_fclose_ FILE *f = fopen(fake_dm_file, "re");
	struct vd_dm_info *list = NULL;
	char line[160];
	size_t n = 0;

	while (f && fgets(line, sizeof(line), f)) {
		struct vd_dm_info *grown;

		line[strcspn(line, "\n")] = '\0';
		if (!*line || (prefix && strncmp(line, prefix, strlen(prefix)) != 0))
			continue;
		grown = realloc(list, (n + 1) * sizeof(*list));
		if (!grown) {
			free(list);
			return -ENOMEM;
		}
		list = grown;
		list[n] = (struct vd_dm_info){ .exists = true };
		snprintf(list[n].uuid, sizeof(list[n].uuid), "%s", line);
		snprintf(list[n].name, sizeof(list[n].name), "fake-%zu", n);
		n++;
	}
	*ret = list;
	*ret_n = n;
	return 0;
}

static const struct vd_dm_ops fake_dm_ops = { .list = fake_dm_list };

int cmd_lease_hold(struct xlvd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "daemon", no_argument, NULL, 'd' },
		XLVD_COMMON_LONGOPTS,
		{}
	};
	bool daemonize = false;
	int c, status = -1, r;

	while ((c = xlvd_getopt(ctx, argc, argv, "d", opts, &status)) > 0)
		if (c == 'd')
			daemonize = true;
	if (status >= 0)
		return status;
	if (optind != argc)
		return xlvd_usage_error("lease-hold", "takes no arguments");

	if (vd_log_get_level() < VD_LOG_INFO)
		vd_log_set_level(VD_LOG_INFO);
	if (daemonize) {
		/* the caller (lockspace-start) waits for the pid file, not for us */
		if (daemon(0, 0) < 0)
			return xlvd_fail(vd_err(-errno, "cannot become a daemon: %m"));
		openlog("xenvd-leased", LOG_PID, LOG_DAEMON);
		vd_log_set_sink(syslog_sink, NULL);
	} else {
		vd_log_set_sink(stderr_sink, NULL);
	}
	fake_dm_file = getenv("XENVD_HOLDER_FAKE_DM");
	r = vd_holder_run(fake_dm_file ? &fake_dm_ops : &vd_dm_libdevmapper_ops,
			  HOLDER_INTERVAL_MS);
	if (r < 0) {
		vd_log(VD_LOG_ERR, "%s", vd_errmsg());
		return r == -EALREADY ? 0 : 1;
	}
	return 0;
}

int xlvd_start_holder(void)
{
	pid_t pid, child;
	int status;

	if (vd_holder_pid(&pid) == 0)
		return 0;
	vd_err_clear();
	/* Under systemd, with the package's unit installed, the holder is its own service,
	 * outside the caller's unit (which may be a oneshot whose leftovers systemd stops). */
	if (access("/run/systemd/system", F_OK) == 0 && !getenv("XENVD_RUN_DIR") &&
	    (access("/lib/systemd/system/xenvd-leased.service", F_OK) == 0 ||
	     access("/etc/systemd/system/xenvd-leased.service", F_OK) == 0)) {
		child = fork();
		if (child == 0) {
			/* --no-block: the caller may itself be a unit being started */
			execlp("systemctl", "systemctl", "--no-block", "start",
			       "xenvd-leased.service", (char *)NULL);
			_exit(127);
		}
	} else {
		child = fork();
		if (child == 0) {
			execl("/proc/self/exe", "xl-vd", "lease-hold", "--daemon", (char *)NULL);
			_exit(127);
		}
	}
	if (child < 0)
		return vd_err(-errno, "cannot start the lease holder: %m");
	if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return vd_err(-ECHILD, "starting the lease holder failed (see 'systemctl status "
				       "xenvd-leased' or syslog's xenvd-leased lines)");
	/* It writes its pid file once registered with sanlock. */
	for (int i = 0; i < 100; i++) {
		if (vd_holder_pid(&pid) == 0)
			return 0;
		vd_err_clear();
		usleep(100 * 1000);
	}
	return vd_err(-ETIMEDOUT, "the lease holder did not start within 10 s (is the sanlock "
				  "daemon running? see syslog's xenvd-leased lines)");
}

void xlvd_stop_holder(void)
{
	pid_t pid;

	if (vd_holder_pid(&pid) == 0)
		(void)kill(pid, SIGTERM);
	vd_err_clear();
}
