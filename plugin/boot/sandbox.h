/* The deprivileged child that parses guest data: a new PID namespace, mount and ipc namespaces, a
 * chroot into an empty read-only tmpfs, no_new_privs, setresuid/setgroups to an unprivileged
 * user, rlimits and a hand-written seccomp allowlist, before the caller's function runs. It
 * fails closed: it never runs the function with less isolation than asked for.
 */
#ifndef XENVD_SANDBOX_H
#define XENVD_SANDBOX_H

#include <sys/types.h>

#include "base/util.h"

struct vd_sandbox_opts {
	uid_t uid;
	gid_t gid;
	unsigned timeout_sec; /* wall-clock limit for the child; 0 = none */
	uint64_t fsize_max;   /* RLIMIT_FSIZE: the largest file the child may write */
	/* Only no_new_privs, rlimits and seccomp: for tests run as an ordinary user. The
	 * namespaces, chroot and uid change need root and are skipped. */
	bool unprivileged;
	const int *keep_fds; /* fds the child keeps besides stderr and its reply pipe */
	size_t n_keep_fds;
	/* A service the parent runs for the child while it works (vdloader: disk reads): called
	 * whenever service_fd is readable, until it returns < 0 (-EPIPE: the child closed it). */
	int service_fd; /* < 0: none */
	int (*service)(void *userdata, int fd);
	void *service_userdata;
	/* Called once the reply is complete (the child closed its end; reply without the leading
	 * "R", NUL-terminated) and before the child has been reaped: work that may run while the
	 * child exits. The child is not yet known to have exited, or with which status: the
	 * caller trusts nothing it did until vd_sandbox_run returns. NULL: none. */
	void (*on_reply)(void *userdata, const char *reply, size_t len);
	void *on_reply_userdata;
};

/* The child's work: write the reply to reply_fd, return 0 (exit 0) or non-zero. */
typedef int (*vd_sandbox_fn)(void *userdata, int reply_fd);

/* Runs fn in the sandboxed child and collects what it wrote (at most reply_max bytes) and its
 * exit status. -EPERM with a message when the sandbox cannot be set up, -ETIMEDOUT after
 * timeout_sec (the child is killed), -ECHILD when it dies by a signal (SIGSYS: a system call
 * outside the allowlist). On 0, *ret_status is the child's exit code. */
int vd_sandbox_run(const struct vd_sandbox_opts *opts, vd_sandbox_fn fn, void *userdata,
		   size_t reply_max, char **ret_reply, size_t *ret_len, int *ret_status);

/* --runas: a uid or user name; NULL means "nobody". uid 0 is refused. Looked up in
 * /etc/passwd, then (a user it lacks) through NSS. */
int vd_sandbox_resolve_user(const char *runas, uid_t *ret_uid, gid_t *ret_gid);
/* The same with another passwd file than /etc/passwd (tests). */
int vd_sandbox_resolve_user_in(const char *passwd, const char *runas, uid_t *ret_uid,
			       gid_t *ret_gid);

/* Where a run's time goes: with marks enabled, vd_sandbox_mark() prints "vdloader: timing:
 * PHASE T" (T in ms since vd_sandbox_marks_enable) to stderr; otherwise it does nothing.
 * For the benchmark (XENVD_VDLOADER_TIMING=1). */
void vd_sandbox_marks_enable(void);
void vd_sandbox_mark(const char *phase);

/* Installs the seccomp filter in the calling process (exposed for tests). */
int vd_sandbox_install_seccomp(void);

#endif
