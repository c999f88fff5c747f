/* The sandbox vdloader parses guest data in: the seccomp allowlist, privilege drop, limits. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <cmocka.h>

#include "boot/boot_disk.h"
#include "boot/sandbox.h"

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

static void test_seccomp_makes_open_fail_with_eacces(void **state)
{
	int status = in_filtered_child(try_open);

	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_seccomp_kills_on_socket_and_execve(void **state)
{
	int status = in_filtered_child(try_socket);

	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);
	status = in_filtered_child(try_execve);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seccomp_makes_open_fail_with_eacces),
		cmocka_unit_test(test_seccomp_kills_on_socket_and_execve),
		cmocka_unit_test(test_child_runs_as_the_runas_user),
		cmocka_unit_test(test_child_is_killed_after_the_time_limit),
		cmocka_unit_test(test_runas_refuses_root_and_unknown_users),
		cmocka_unit_test(test_remote_disk_serves_only_the_vd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
