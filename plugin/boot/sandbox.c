#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/fs.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "base/error.h"
#include "boot/boot_output.h"
#include "boot/sandbox.h"

#if defined(__x86_64__)
#define SECCOMP_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SECCOMP_ARCH AUDIT_ARCH_AARCH64
#else
#error "vdloader's seccomp filter knows x86_64 and aarch64 only"
#endif

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#define MAX_FILTER 160

struct filter {
	struct sock_filter insn[MAX_FILTER];
	size_t n;
};

static void emit(struct filter *f, struct sock_filter i)
{
	if (f->n < MAX_FILTER)
		f->insn[f->n] = i;
	f->n++;
}

static void allow(struct filter *f, int nr)
{
	emit(f, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1));
	emit(f, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
}

static void deny(struct filter *f, int nr, int err)
{
	emit(f, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1));
	emit(f, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
					     SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA)));
}

/* What parsing a filesystem and writing into already-open files needs, and nothing that opens,
 * creates, connects, executes or changes identity. Path-based calls fail with EACCES rather
 * than kill, so library probing of /sys or /etc degrades cleanly. */
int vd_sandbox_install_seccomp(void)
{
	static const int allowed[] = {
		SYS_read,	   SYS_write,	      SYS_pread64,	 SYS_pwrite64,
		SYS_readv,	   SYS_writev,	      SYS_lseek,	 SYS_close,
		SYS_fstat,	   SYS_newfstatat,    SYS_mmap,		 SYS_munmap,
		SYS_mremap,	   SYS_mprotect,      SYS_brk,		 SYS_madvise,
		SYS_rt_sigreturn,  SYS_rt_sigprocmask, SYS_rt_sigaction, SYS_sigaltstack,
		SYS_exit,	   SYS_exit_group,    SYS_getpid,	 SYS_gettid,
		SYS_getuid,	   SYS_geteuid,	      SYS_getgid,	 SYS_getegid,
		SYS_clock_gettime, SYS_gettimeofday,  SYS_futex,	 SYS_getrandom,
		SYS_ftruncate,     SYS_fcntl,	 SYS_fadvise64,
		SYS_sysinfo,	   SYS_uname,	      SYS_prlimit64,	 SYS_sched_getaffinity,
		SYS_sched_yield,   SYS_nanosleep,     SYS_clock_nanosleep, SYS_tgkill,
		SYS_getrusage,	   SYS_statx,
#ifdef SYS_time
		SYS_time,
#endif
	};
	static const int eacces[] = {
#ifdef SYS_open
		SYS_open,
#endif
#ifdef SYS_stat
		SYS_stat,	   SYS_lstat,	     SYS_access,	SYS_readlink,
#endif
		SYS_openat,	   SYS_faccessat,    SYS_faccessat2,	SYS_readlinkat,
	};
	static const unsigned long ioctls[] = { BLKGETSIZE64, BLKSSZGET, BLKPBSZGET, BLKIOMIN,
						BLKIOOPT,     BLKALIGNOFF, BLKGETSIZE };
	struct filter f = { .n = 0 };
	struct sock_fprog prog;

	emit(&f, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, arch)));
	emit(&f, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SECCOMP_ARCH, 1, 0));
	emit(&f, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
	emit(&f, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, nr)));
#if defined(__x86_64__)
	/* x32 system calls share the arch value: refuse them outright */
	emit(&f, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1));
	emit(&f, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
#endif
	for (size_t i = 0; i < ARRAY_SIZE(allowed); i++)
		allow(&f, allowed[i]);
	for (size_t i = 0; i < ARRAY_SIZE(eacces); i++)
		deny(&f, eacces[i], EACCES);
	/* ioctl: the block-device size queries libblkid makes, nothing else (ENOTTY) */
	emit(&f, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ioctl, 0,
					      (unsigned char)(1 + 2 * ARRAY_SIZE(ioctls) + 1)));
	emit(&f, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, args[1])));
	for (size_t i = 0; i < ARRAY_SIZE(ioctls); i++) {
		emit(&f, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
						      (unsigned)ioctls[i], 0, 1));
		emit(&f, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
	}
	emit(&f, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOTTY));
	emit(&f, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
	if (f.n > MAX_FILTER)
		return -E2BIG;

	prog.len = (unsigned short)f.n;
	prog.filter = f.insn;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0 &&
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		return -errno;
	return 0;
}

/* The entry of user name (or with name NULL, of uid) in the passwd file at path: false when it
 * has none or cannot be read. */
static bool passwd_file_lookup(const char *path, const char *name, uid_t uid, uid_t *ret_uid,
			       gid_t *ret_gid)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	struct passwd *pw;

	if (!f)
		return false;
	while ((pw = fgetpwent(f)))
		if (name ? !strcmp(pw->pw_name, name) : pw->pw_uid == uid) {
			*ret_uid = pw->pw_uid;
			*ret_gid = pw->pw_gid;
			return true;
		}
	return false;
}

/* The passwd file first (nobody, local users and libxl's per-domain users live there), NSS
 * only for a user it lacks: in the static vdloader, NSS reads nsswitch.conf and may load its
 * modules with a second, shared libc. */
static bool lookup_user(const char *passwd, const char *name, uid_t uid, uid_t *ret_uid,
			gid_t *ret_gid)
{
	struct passwd *pw;

	if (passwd_file_lookup(passwd, name, uid, ret_uid, ret_gid))
		return true;
	pw = name ? getpwnam(name) : getpwuid(uid);
	if (!pw)
		return false;
	*ret_uid = pw->pw_uid;
	*ret_gid = pw->pw_gid;
	return true;
}

int vd_sandbox_resolve_user_in(const char *passwd, const char *runas, uid_t *ret_uid,
			       gid_t *ret_gid)
{
	char *end;
	unsigned long v;

	if (!runas) {
		if (!lookup_user(passwd, "nobody", 0, ret_uid, ret_gid))
			*ret_uid = *ret_gid = 65534;
		return 0;
	}
	errno = 0;
	v = strtoul(runas, &end, 10);
	if (*runas && !*end && errno == 0 && v <= 0xfffffffeUL) {
		uid_t uid;

		if (!lookup_user(passwd, NULL, (uid_t)v, &uid, ret_gid))
			*ret_gid = (gid_t)v;
		*ret_uid = (uid_t)v;
	} else if (!lookup_user(passwd, runas, 0, ret_uid, ret_gid)) {
		return vd_err(-ENOENT, "--runas=%s: no such user", runas);
	}
	if (*ret_uid == 0 || *ret_gid == 0)
		return vd_err(-EPERM, "--runas=%s: refusing to parse guest data as root", runas);
	return 0;
}

int vd_sandbox_resolve_user(const char *runas, uid_t *ret_uid, gid_t *ret_gid)
{
	return vd_sandbox_resolve_user_in("/etc/passwd", runas, ret_uid, ret_gid);
}

/* Writes a setup failure for the parent and exits: the function never runs. */
static _Noreturn void setup_fail(int fd, const char *what, int err)
{
	char msg[256];
	int n = snprintf(msg, sizeof(msg), "S%s: %s", what, strerror(err));

	if (n > 0 && write(fd, msg, (size_t)n) < 0) {
		/* nothing more we can do */
	}
	_exit(125);
}

/* Closes [lo, hi] one fd at a time: what /proc/self/fd lists, else every number up to the
 * RLIMIT_NOFILE limit. 0, or -errno when neither is possible (the caller refuses to go on). */
static int close_one_by_one(unsigned lo, unsigned hi)
{
	DIR *d = opendir("/proc/self/fd");
	struct rlimit rl;

	if (d) {
		struct dirent *de;
		int own = dirfd(d);

		while ((de = readdir(d))) {
			char *end;
			unsigned long fd = strtoul(de->d_name, &end, 10);

			if (*end || de->d_name[0] == '.' || (int)fd == own || fd < lo || fd > hi)
				continue;
			close((int)fd);
		}
		closedir(d);
		return 0;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur > (1u << 20))
		return -EMFILE;
	for (unsigned fd = lo; fd <= hi && fd < rl.rlim_cur; fd++)
		close((int)fd);
	return 0;
}

static int close_range_or_fallback(unsigned lo, unsigned hi)
{
	if (close_range(lo, hi, 0) == 0)
		return 0;
	/* kernels before 5.9 (ENOSYS), seccomp'd hosts (EPERM): never leave the pool device, the
	 * database or the result file open in the child */
	return close_one_by_one(lo, hi);
}

static int close_other_fds(const struct vd_sandbox_opts *o, int reply_fd, int err_fd)
{
	int keep[64];
	size_t n = 0;
	int lo = 3, r;

	keep[n++] = reply_fd;
	keep[n++] = err_fd;
	for (size_t i = 0; i < o->n_keep_fds && n < ARRAY_SIZE(keep); i++)
		if (o->keep_fds[i] >= 3)
			keep[n++] = o->keep_fds[i];
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int t = keep[j];

			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	for (size_t i = 0; i < n; i++) {
		if (keep[i] > lo) {
			r = close_range_or_fallback((unsigned)lo, (unsigned)keep[i] - 1);
			if (r < 0)
				return r;
		}
		if (keep[i] >= lo)
			lo = keep[i] + 1;
	}
	return close_range_or_fallback((unsigned)lo, ~0U);
}

static void set_limit(int fd, int resource, rlim_t value, const char *name)
{
	struct rlimit rl = { value, value };

	if (setrlimit(resource, &rl) < 0)
		setup_fail(fd, name, errno);
}

static _Noreturn void child_main(const struct vd_sandbox_opts *o, vd_sandbox_fn fn,
				 void *userdata, int reply_fd, int err_fd, pid_t parent)
{
	int devnull, r;

	/* until the uid change below, a parent death kills us too (the change clears it) */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	r = close_other_fds(o, reply_fd, err_fd);
	if (r < 0)
		setup_fail(reply_fd, "cannot close the file descriptors the sandbox must not keep",
			   -r);
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0)
		setup_fail(reply_fd, "cannot point stdin and stdout at /dev/null", errno);
	close(devnull);
	/* what we print goes through the parent, which makes guest text safe for a terminal */
	if (dup2(err_fd, 2) < 0)
		setup_fail(reply_fd, "cannot redirect stderr", errno);
	close(err_fd);
	signal(SIGXFSZ, SIG_IGN); /* a write past RLIMIT_FSIZE fails with EFBIG instead */

	if (!o->unprivileged) {
		/* No network namespace: the seccomp filter kills socket() and every other way to a
		 * network, and creating one cost about 1 ms of a 5 ms run (measured with strace -T). */
		if (unshare(CLONE_NEWNS | CLONE_NEWIPC) < 0)
			setup_fail(reply_fd,
				   "cannot create mount and ipc namespaces for the sandbox "
				   "(unshare)",
				   errno);
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			setup_fail(reply_fd, "cannot make the sandbox's mounts private", errno);
		/* An empty, read-only tmpfs as the new root: private to this namespace, so
		 * nothing appears on the host and nothing is left behind. */
		if (mount("vdloader", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY,
			  "size=4k,nr_inodes=2,mode=0555") < 0)
			setup_fail(reply_fd, "cannot mount the sandbox's empty root", errno);
		if (chdir("/tmp") < 0 || chroot(".") < 0 || chdir("/") < 0)
			setup_fail(reply_fd, "cannot chroot into the sandbox's empty root", errno);
		if (setgroups(0, NULL) < 0)
			setup_fail(reply_fd, "setgroups", errno);
		if (setresgid(o->gid, o->gid, o->gid) < 0)
			setup_fail(reply_fd, "setresgid", errno);
		if (setresuid(o->uid, o->uid, o->uid) < 0)
			setup_fail(reply_fd, "setresuid", errno);
		if (getuid() != o->uid || geteuid() != o->uid || getegid() != o->gid ||
		    setuid(0) == 0)
			setup_fail(reply_fd, "privileges were not dropped", EPERM);
	}
	/* after the last credential change, which clears it; then make sure the parent did not
	 * die before it was set (in a PID namespace our parent is outside it: getppid() is 0,
	 * and the write of "R" below fails with EPIPE once the parent is gone) */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		setup_fail(reply_fd, "PR_SET_PDEATHSIG", errno);
	if (getppid() != parent)
		_exit(127);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		setup_fail(reply_fd, "no_new_privs", errno);
	prctl(PR_SET_DUMPABLE, 0);
	set_limit(reply_fd, RLIMIT_CORE, 0, "RLIMIT_CORE");
	set_limit(reply_fd, RLIMIT_MEMLOCK, 0, "RLIMIT_MEMLOCK");
	set_limit(reply_fd, RLIMIT_MSGQUEUE, 0, "RLIMIT_MSGQUEUE");
	set_limit(reply_fd, RLIMIT_FSIZE, o->fsize_max ? o->fsize_max : RLIM_INFINITY,
		  "RLIMIT_FSIZE");
	set_limit(reply_fd, RLIMIT_NOFILE, 64, "RLIMIT_NOFILE");
	if (o->timeout_sec)
		set_limit(reply_fd, RLIMIT_CPU, o->timeout_sec + 1, "RLIMIT_CPU");
#ifndef UNDER_ASAN
	/* guest metadata never needs much memory; a bomb should fail, not swap dom0 */
	set_limit(reply_fd, RLIMIT_AS, (rlim_t)1 << 30, "RLIMIT_AS");
#endif
	if (!o->unprivileged)
		set_limit(reply_fd, RLIMIT_NPROC, 0, "RLIMIT_NPROC");
	r = vd_sandbox_install_seccomp();
	if (r < 0)
		setup_fail(reply_fd, "cannot install the seccomp filter", -r);

	if (write(reply_fd, "R", 1) != 1)
		_exit(126);
	r = fn(userdata, reply_fd);
	/* the parent reads to EOF: give it now, not after our address space is torn down */
	close(reply_fd);
	_exit(r == 0 ? 0 : 1);
}

static int64_t marks_start_ns = -1;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void vd_sandbox_marks_enable(void)
{
	marks_start_ns = now_ns();
}

void vd_sandbox_mark(const char *phase)
{
	if (marks_start_ns >= 0)
		fprintf(stderr, "vdloader: timing: %s %.3f\n", phase,
			(double)(now_ns() - marks_start_ns) / 1e6);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Forwards what the child printed to our stderr, made safe for a terminal; at most
 * STDERR_MAX bytes in all, so a child cannot flood the log. */
#define STDERR_MAX (64 * 1024)
static int forward_stderr(int fd, size_t *forwarded)
{
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf));
	size_t len;

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0)
		return -EPIPE;
	len = vd_boot_sanitize(buf, (size_t)n, true);
	if (*forwarded < STDERR_MAX) {
		size_t room = STDERR_MAX - *forwarded;

		if (write(STDERR_FILENO, buf, len < room ? len : room) < 0) {
			/* nowhere to report it */
		}
	}
	*forwarded += len;
	return 0;
}

/* The child in a new PID namespace when we may make one: it is the init of its own, dies with
 * everything in it, and sees (and can signal) no other process, such as other guests'
 * readers running as the same user. */
static pid_t fork_child(bool new_pid_ns)
{
	if (new_pid_ns)
		return (pid_t)syscall(SYS_clone, SIGCHLD | CLONE_NEWPID, NULL, NULL, NULL, 0);
	return fork();
}

/* Waits for pid until the deadline (0: none); -ETIMEDOUT when it is still running then. */
static int wait_child(pid_t pid, int64_t deadline, int *ret_status)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	int r = 0;

	for (;;) {
		pid_t w = waitpid(pid, ret_status, deadline ? WNOHANG : 0);

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			r = -errno;
			break;
		}
		if (w == 0) {
			int64_t left = deadline - now_ms();

			if (left <= 0) {
				r = -ETIMEDOUT;
				break;
			}
			if (pidfd >= 0) {
				struct pollfd p = { .fd = pidfd, .events = POLLIN };

				poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
			} else {
				struct timespec ts = { 0, 1000000 }; /* no pidfd (before 5.3): poll */

				nanosleep(&ts, NULL);
			}
		}
	}
	if (pidfd >= 0)
		close(pidfd);
	return r;
}

/* A service call must not outlast the deadline either: a child that sends half a request, or
 * does not read its answer, makes the socket time out instead of blocking us for good. */
static void bound_service_socket(int fd, int64_t deadline)
{
	int64_t left = deadline ? deadline - now_ms() : 0;
	struct timeval tv = { 0, 0 };

	if (deadline) {
		if (left < 1)
			left = 1;
		tv.tv_sec = left / 1000;
		tv.tv_usec = (left % 1000) * 1000;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

int vd_sandbox_run(const struct vd_sandbox_opts *opts, vd_sandbox_fn fn, void *userdata,
		   size_t reply_max, char **ret_reply, size_t *ret_len, int *ret_status)
{
	int pipefd[2], errpipe[2];
	pid_t pid, parent = getpid();
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0, forwarded = 0;
	int64_t deadline = opts->timeout_sec ? now_ms() + (int64_t)opts->timeout_sec * 1000 : 0;
	int status = 0, rc = 0;
	int service_fd = opts->service ? opts->service_fd : -1;
	bool overflow = false;

	if (!opts->unprivileged && geteuid() != 0)
		return vd_err(-EPERM,
			      "the sandbox needs root (namespaces, chroot, setresuid); run vdloader "
			      "as root, as libxl does");
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return vd_err(-errno, "pipe: %m");
	if (pipe2(errpipe, O_CLOEXEC) < 0) {
		rc = -errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return vd_err(rc, "pipe: %m");
	}
	fflush(NULL);
	vd_sandbox_mark("fork");
	pid = fork_child(!opts->unprivileged);
	if (pid < 0) {
		rc = -errno;
		close(pipefd[0]);
		close(pipefd[1]);
		close(errpipe[0]);
		close(errpipe[1]);
		return vd_err(rc, "cannot start the sandboxed reader: %m");
	}
	if (pid == 0) {
		close(pipefd[0]);
		close(errpipe[0]);
		child_main(opts, fn, userdata, pipefd[1], errpipe[1],
			   opts->unprivileged ? parent : 0);
	}
	close(pipefd[1]);
	close(errpipe[1]);
	if (service_fd >= 0)
		bound_service_socket(service_fd, deadline);

	for (;;) {
		struct pollfd pfd[3] = { { .fd = pipefd[0], .events = POLLIN },
					 { .fd = errpipe[0], .events = POLLIN },
					 { .fd = service_fd, .events = POLLIN } };
		int timeout = -1, n;
		ssize_t got;

		if (deadline) {
			int64_t left = deadline - now_ms();

			if (left <= 0) {
				rc = -ETIMEDOUT;
				break;
			}
			timeout = left > INT32_MAX ? INT32_MAX : (int)left;
		}
		n = poll(pfd, 3, timeout);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		if (n == 0)
			continue;
		if (pfd[1].revents && forward_stderr(errpipe[0], &forwarded) < 0) {
			close(errpipe[0]);
			errpipe[0] = -1;
		}
		if (service_fd >= 0 && pfd[2].revents) {
			bound_service_socket(service_fd, deadline);
			if (opts->service(opts->service_userdata, service_fd) < 0)
				service_fd = -1; /* the child closed its end, misbehaved or stalled */
		}
		if (!pfd[0].revents)
			continue;
		if (len + 65536 > cap) {
			char *grown;

			cap = cap ? cap * 2 : 65536;
			if (cap > reply_max + 65536)
				cap = reply_max + 65536;
			grown = realloc(buf, cap + 1);
			if (!grown) {
				rc = -ENOMEM;
				break;
			}
			buf = grown;
		}
		got = read(pipefd[0], buf + len, cap - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		if (len == 0)
			vd_sandbox_mark("sandbox-ready");
		len += (size_t)got;
		if (len > reply_max) {
			overflow = true;
			break;
		}
	}
	close(pipefd[0]);
	vd_sandbox_mark("reply-complete");
	if (rc == 0 && !overflow && opts->on_reply && len > 0 && buf[0] == 'R') {
		buf[len] = '\0';
		opts->on_reply(opts->on_reply_userdata, buf + 1, len - 1);
	}
	if (rc == 0 && !overflow) {
		/* the reply is complete: the child has exited or is about to, within the deadline */
		rc = wait_child(pid, deadline, &status);
		if (rc == -ETIMEDOUT)
			kill(pid, SIGKILL);
	} else {
		kill(pid, SIGKILL);
	}
	if (rc < 0 || overflow)
		while (waitpid(pid, &status, 0) < 0)
			if (errno != EINTR)
				break;
	vd_sandbox_mark("child-reaped");
	while (errpipe[0] >= 0 && forward_stderr(errpipe[0], &forwarded) == 0)
		; /* what it printed before it exited */
	if (errpipe[0] >= 0)
		close(errpipe[0]);
	if (rc == -ETIMEDOUT)
		return vd_err(rc,
			      "reading the guest disk took longer than %u s (boot_timeout in "
			      "xenvd.conf); the sandboxed reader was killed",
			      opts->timeout_sec);
	if (rc < 0)
		return vd_err(rc, "talking to the sandboxed reader: %s", strerror(-rc));
	if (overflow)
		return vd_err(-E2BIG, "the sandboxed reader sent more than %zu bytes", reply_max);
	if (len > 0 && buf[0] == 'S') {
		buf[len] = '\0';
		vd_boot_sanitize(buf, len, false);
		return vd_err(-EPERM, "%s; vdloader does not parse guest data unsandboxed",
			      buf + 1);
	}
	if (WIFSIGNALED(status))
		return vd_err(-ECHILD, "the sandboxed reader was killed by signal %d%s",
			      WTERMSIG(status),
			      WTERMSIG(status) == SIGSYS
				      ? " (a system call outside its seccomp allowlist)"
				      : (WTERMSIG(status) == SIGXCPU ? " (CPU time limit)" : ""));
	if (len == 0 || buf[0] != 'R')
		return vd_err(-EPROTO, "the sandboxed reader exited (status %d) without a reply",
			      WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	memmove(buf, buf + 1, len - 1);
	len--;
	buf[len] = '\0';
	*ret_reply = TAKE_PTR(buf);
	*ret_len = len;
	*ret_status = WEXITSTATUS(status);
	return 0;
}
