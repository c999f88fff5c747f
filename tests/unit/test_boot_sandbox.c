/* The sandbox vdloader parses guest data in: the seccomp allowlist, privilege drop, limits. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <time.h>
#include <cmocka.h>

#include "boot/boot_disk.h"
#include "boot/sandbox.h"

/* A kernel before 5.9 as the sandbox sees it: this definition takes the place of glibc's for
 * the library linked into this program. */
static bool close_range_enosys;
int close_range(unsigned int first, unsigned int last, int flags)
{
	if (close_range_enosys) {
		errno = ENOSYS;
		return -1;
	}
	return (int)syscall(SYS_close_range, first, last, flags);
}

static struct vd_sandbox_opts sandbox_opts(unsigned timeout_sec)
{
	struct vd_sandbox_opts o = { .uid = 65534, .gid = 65534, .timeout_sec = timeout_sec,
				     .service_fd = -1 };

	if (geteuid() != 0) {
		o.unprivileged = true;
		o.uid = getuid();
		o.gid = getgid();
	}
	return o;
}

static int64_t elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(now.tv_sec - since->tv_sec) * 1000 +
	       (now.tv_nsec - since->tv_nsec) / 1000000;
}

/* Runs fn in a forked child after the filter is in; returns its wait status. */
static int in_filtered_child(void (*fn)(void))
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		if (vd_sandbox_install_seccomp() < 0)
			_exit(99);
		fn();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void try_open(void)
{
	int fd = open("/etc/hostname", O_RDONLY);

	_exit(fd < 0 && errno == EACCES ? 0 : 1);
}

static void try_socket(void)
{
	socket(AF_INET, SOCK_STREAM, 0);
	_exit(0);
}

static void try_execve(void)
{
	char *argv[] = { "/bin/true", NULL };

	execve(argv[0], argv, NULL);
	_exit(0);
}

static void try_memfd(void)
{
	syscall(SYS_memfd_create, "x", 0);
	_exit(0);
}

static void test_seccomp_makes_open_fail_with_eacces(void **state)
{
	int status = in_filtered_child(try_open);

	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_seccomp_kills_on_socket_execve_and_memfd(void **state)
{
	int status = in_filtered_child(try_socket);

	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);
	status = in_filtered_child(try_execve);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);
	/* files in memory would escape RLIMIT_AS: the reader may not create any */
	status = in_filtered_child(try_memfd);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);
}

static int report_identity(void *userdata, int reply_fd)
{
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "%u %u", (unsigned)getuid(), (unsigned)getgid());

	return write(reply_fd, buf, (size_t)n) == n ? 0 : 1;
}

static void test_child_runs_as_the_runas_user(void **state)
{
	struct vd_sandbox_opts o = { .uid = 65534, .gid = 65534, .timeout_sec = 10 };
	char *reply = NULL;
	size_t len;
	int status;

	if (geteuid() != 0) {
		o.unprivileged = true;
		o.uid = getuid();
		o.gid = getgid();
	}
	assert_int_equal(vd_sandbox_run(&o, report_identity, NULL, 4096, &reply, &len, &status), 0);
	assert_int_equal(status, 0);
	if (!o.unprivileged)
		assert_string_equal(reply, "65534 65534");
	free(reply);
}

static int spin(void *userdata, int reply_fd)
{
	for (;;)
		;
	return 0;
}

static void test_child_is_killed_after_the_time_limit(void **state)
{
	struct vd_sandbox_opts o = { .uid = 65534, .gid = 65534, .timeout_sec = 1,
				     .unprivileged = geteuid() != 0 };
	char *reply = NULL;
	size_t len;
	int status;

	assert_int_equal(vd_sandbox_run(&o, spin, NULL, 4096, &reply, &len, &status), -ETIMEDOUT);
	assert_null(reply);
}

static void test_runas_refuses_root_and_unknown_users(void **state)
{
	uid_t uid;
	gid_t gid;

	assert_int_equal(vd_sandbox_resolve_user("0", &uid, &gid), -EPERM);
	assert_int_equal(vd_sandbox_resolve_user("root", &uid, &gid), -EPERM);
	assert_int_equal(vd_sandbox_resolve_user("no-such-user-xenvd", &uid, &gid), -ENOENT);
	assert_int_equal(vd_sandbox_resolve_user("4242", &uid, &gid), 0);
	assert_int_equal(uid, 4242);
	assert_int_equal(vd_sandbox_resolve_user(NULL, &uid, &gid), 0);
	assert_true(uid != 0);
}

/* The passwd file answers before NSS (the static vdloader's NSS would read nsswitch.conf and
 * may load modules): its users win, and a user it lacks is still found through NSS. */
static void test_runas_reads_the_passwd_file_before_nss(void **state)
{
	char path[] = "/tmp/vdloader-unit.XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	uid_t uid;
	gid_t gid;

	assert_non_null(f);
	fputs("xenvd-file-only:x:4321:4322::/nonexistent:/usr/sbin/nologin\n"
	      "nobody:x:7777:7778::/nonexistent:/usr/sbin/nologin\n", f);
	fclose(f);
	assert_int_equal(vd_sandbox_resolve_user_in(path, "xenvd-file-only", &uid, &gid), 0);
	assert_int_equal(uid, 4321);
	assert_int_equal(gid, 4322);
	assert_int_equal(vd_sandbox_resolve_user_in(path, "4321", &uid, &gid), 0);
	assert_int_equal(gid, 4322);
	assert_int_equal(vd_sandbox_resolve_user_in(path, NULL, &uid, &gid), 0);
	assert_int_equal(uid, 7777);
	assert_int_equal(gid, 7778);
	/* not in the file: NSS finds root, which is refused as ever */
	assert_int_equal(vd_sandbox_resolve_user_in(path, "root", &uid, &gid), -EPERM);
	assert_int_equal(vd_sandbox_resolve_user_in(path, "no-such-user-xenvd", &uid, &gid),
			 -ENOENT);
	unlink(path);
}

/* --vd: the reader asks the parent for bytes; nothing outside the VD's runs is ever served. */
static void test_remote_disk_serves_only_the_vd(void **state)
{
	char path[] = "/tmp/vdloader-unit.XXXXXX";
	int fd = mkstemp(path), sv[2];
	struct vd_run runs[2];
	struct vd_boot_disk local, remote;
	char buf[8];
	pid_t pid;
	int status;

	assert_true(fd >= 0);
	unlink(path);
	/* device bytes: "AAAAbbbbCCCCdddd"; the VD is runs [0,4) and [8,12): "AAAACCCC" */
	assert_int_equal(write(fd, "AAAAbbbbCCCCdddd", 16), 16);
	runs[0] = (struct vd_run){ .fd = fd, .dev_offset = 0, .length = 4 };
	runs[1] = (struct vd_run){ .fd = fd, .dev_offset = 8, .length = 4 };
	assert_int_equal(vd_boot_disk_init(&local, runs, 2), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		close(fd);
		if (vd_boot_disk_init_remote(&remote, sv[1], 8) != 0)
			_exit(1);
		if (vd_boot_disk_pread(&remote, buf, 8, 0) != 0 || memcmp(buf, "AAAACCCC", 8))
			_exit(2);
		if (vd_boot_disk_pread(&remote, buf, 2, 3) != 0 || memcmp(buf, "AC", 2))
			_exit(3);
		if (vd_boot_disk_pread(&remote, buf, 4, 6) == 0) /* past the VD's end */
			_exit(4);
		_exit(0);
	}
	close(sv[1]);
	while (vd_boot_disk_serve_one(&local, sv[0]) == 0)
		;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(sv[0]);
	close(fd);
}

static int report_fd_state(void *userdata, int reply_fd)
{
	int fd = *(int *)userdata;
	const char *state = fcntl(fd, F_GETFD) < 0 && errno == EBADF ? "closed" : "open";

	return write(reply_fd, state, strlen(state)) > 0 ? 0 : 1;
}

static void test_inherited_fds_are_closed_even_without_close_range(void **state)
{
	struct vd_sandbox_opts o = sandbox_opts(10);
	int secret = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
	int status;

	assert_true(secret >= 0);
	for (int pass = 0; pass < 2; pass++) {
		char *reply = NULL;
		size_t len;

		close_range_enosys = pass == 1;
		assert_int_equal(vd_sandbox_run(&o, report_fd_state, &secret, 64, &reply, &len,
						&status),
				 0);
		close_range_enosys = false;
		assert_int_equal(status, 0);
		assert_string_equal(reply, "closed");
		free(reply);
	}
	close(secret);
}

static int stubborn(void *userdata, int reply_fd)
{
	int alive_fd = *(int *)userdata;
	struct timespec ts = { 1, 0 };

	signal(SIGHUP, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	if (write(alive_fd, "x", 1) != 1)
		return 1;
	for (;;)
		nanosleep(&ts, NULL);
	return 0;
}

/* The reader dies with vdloader even when it ignores every signal it can: the parent-death
 * signal survives the uid change, and as the init of its own PID namespace it takes nothing
 * with it into the afterlife. The pipe's write end lives only in the reader: EOF = it died. */
static void test_reader_dies_with_its_parent_though_it_ignores_signals(void **state)
{
	int alive[2], status;
	struct pollfd p;
	char c;
	pid_t helper;

	assert_int_equal(pipe(alive), 0);
	helper = fork();
	assert_true(helper >= 0);
	if (helper == 0) {
		struct vd_sandbox_opts o = sandbox_opts(60);
		char *reply = NULL;
		size_t len;
		int st;

		close(alive[0]);
		o.keep_fds = &alive[1];
		o.n_keep_fds = 1;
		vd_sandbox_run(&o, stubborn, &alive[1], 64, &reply, &len, &st);
		_exit(0);
	}
	close(alive[1]);
	assert_int_equal(read(alive[0], &c, 1), 1); /* the reader runs */
	kill(helper, SIGKILL);
	assert_int_equal(waitpid(helper, &status, 0), helper);
	p = (struct pollfd){ .fd = alive[0], .events = POLLIN };
	assert_int_equal(poll(&p, 1, 5000), 1);
	assert_int_equal(read(alive[0], &c, 1), 0);
	close(alive[0]);
}

static int half_request(void *userdata, int reply_fd)
{
	int sock = *(int *)userdata;
	struct timespec ts = { 30, 0 };

	if (write(sock, "\0\0\0\0", 4) != 4) /* 4 of a request's 16 bytes */
		return 1;
	nanosleep(&ts, NULL);
	return 0;
}

static int serve(void *userdata, int fd)
{
	return vd_boot_disk_serve_one(userdata, fd);
}

static void test_a_stalled_disk_request_cannot_outlast_the_timeout(void **state)
{
	struct vd_sandbox_opts o = sandbox_opts(1);
	char path[] = "/tmp/vdloader-unit.XXXXXX";
	int fd = mkstemp(path), sv[2], status;
	struct vd_run run;
	struct vd_boot_disk disk;
	struct timespec t0;
	char *reply = NULL;
	size_t len;

	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(ftruncate(fd, 4096), 0);
	run = (struct vd_run){ .fd = fd, .length = 4096 };
	assert_int_equal(vd_boot_disk_init(&disk, &run, 1), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	o.keep_fds = &sv[1];
	o.n_keep_fds = 1;
	o.service_fd = sv[0];
	o.service = serve;
	o.service_userdata = &disk;
	alarm(20); /* a hang fails the test instead of blocking the suite */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(vd_sandbox_run(&o, half_request, &sv[1], 64, &reply, &len, &status),
			 -ETIMEDOUT);
	assert_true(elapsed_ms(&t0) < 5000);
	alarm(0);
	close(sv[0]);
	close(sv[1]);
	close(fd);
}

static int close_reply_and_linger(void *userdata, int reply_fd)
{
	struct timespec ts = { 30, 0 };

	close(reply_fd);
	nanosleep(&ts, NULL);
	return 0;
}

static void test_a_reader_that_closes_its_reply_but_lingers_times_out(void **state)
{
	struct vd_sandbox_opts o = sandbox_opts(1);
	struct timespec t0;
	char *reply = NULL;
	size_t len;
	int status;

	alarm(20);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(vd_sandbox_run(&o, close_reply_and_linger, NULL, 64, &reply, &len,
					&status),
			 -ETIMEDOUT);
	assert_true(elapsed_ms(&t0) < 5000);
	alarm(0);
}

/* The reply reaches on_reply as soon as it is complete, before the reader is reaped; what the
 * reader does afterwards (here: fail) still decides the result. */
static int reply_then_fail(void *userdata, int reply_fd)
{
	struct timespec ts = { 0, 500 * 1000000L };

	if (write(reply_fd, "done", 4) != 4)
		return 0;
	close(reply_fd);
	nanosleep(&ts, NULL); /* the parent works while we linger */
	return 1;
}

struct seen {
	char reply[16];
	int64_t at_ms;
	struct timespec t0;
};

static void note_reply(void *userdata, const char *reply, size_t len)
{
	struct seen *s = userdata;

	snprintf(s->reply, sizeof(s->reply), "%.*s", (int)len, reply);
	s->at_ms = elapsed_ms(&s->t0);
}

static void test_on_reply_runs_before_the_reader_is_reaped(void **state)
{
	struct vd_sandbox_opts o = sandbox_opts(10);
	struct seen seen = {};
	char *reply = NULL;
	size_t len;
	int status = 0;

	o.on_reply = note_reply;
	o.on_reply_userdata = &seen;
	clock_gettime(CLOCK_MONOTONIC, &seen.t0);
	assert_int_equal(vd_sandbox_run(&o, reply_then_fail, NULL, 64, &reply, &len, &status), 0);
	assert_string_equal(seen.reply, "done");
	assert_true(seen.at_ms < 400);		  /* not after the reader's 500 ms */
	assert_true(elapsed_ms(&seen.t0) >= 490); /* but vd_sandbox_run waited for it */
	assert_int_equal(status, 1);
	free(reply);
}

static int signal_outsider(void *userdata, int reply_fd)
{
	pid_t outsider = *(pid_t *)userdata;
	char buf[16];
	int n;

	n = snprintf(buf, sizeof(buf), "%d",
		     syscall(SYS_tgkill, outsider, outsider, 0) < 0 ? errno : 0);
	return write(reply_fd, buf, (size_t)n) == n ? 0 : 1;
}

/* Another process of the same host, as other guests' readers are: not even visible. */
static void test_reader_cannot_see_processes_outside_its_pid_namespace(void **state)
{
	struct vd_sandbox_opts o = sandbox_opts(10);
	pid_t me = getpid();
	char *reply = NULL, want[16];
	size_t len;
	int status;

	if (o.unprivileged)
		skip(); /* PID namespaces need root */
	assert_int_equal(vd_sandbox_run(&o, signal_outsider, &me, 64, &reply, &len, &status), 0);
	snprintf(want, sizeof(want), "%d", ESRCH);
	assert_string_equal(reply, want);
	free(reply);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seccomp_makes_open_fail_with_eacces),
		cmocka_unit_test(test_seccomp_kills_on_socket_execve_and_memfd),
		cmocka_unit_test(test_child_runs_as_the_runas_user),
		cmocka_unit_test(test_child_is_killed_after_the_time_limit),
		cmocka_unit_test(test_runas_refuses_root_and_unknown_users),
		cmocka_unit_test(test_runas_reads_the_passwd_file_before_nss),
		cmocka_unit_test(test_remote_disk_serves_only_the_vd),
		cmocka_unit_test(test_on_reply_runs_before_the_reader_is_reaped),
		cmocka_unit_test(test_inherited_fds_are_closed_even_without_close_range),
		cmocka_unit_test(test_reader_dies_with_its_parent_though_it_ignores_signals),
		cmocka_unit_test(test_a_stalled_disk_request_cannot_outlast_the_timeout),
		cmocka_unit_test(test_a_reader_that_closes_its_reply_but_lingers_times_out),
		cmocka_unit_test(test_reader_cannot_see_processes_outside_its_pid_namespace),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
