/* vdloader's run: see boot_loader.h. */
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <pthread.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "base/config.h"
#include "base/error.h"
#include "boot/boot_disk.h"
#include "boot/boot_find.h"
#include "boot/boot_loader.h"
#include "boot/boot_output.h"
#include "boot/sandbox.h"

#define DEFAULT_OUTPUT_DIR "/var/run/xen/vdloader"
#define DISK_WAIT_MS 5000 /* /dev/xvdX may appear a little after libxl hands it over */
#define REPLY_MAX (8u << 20)
#define VD_MAX_KEEP_FDS 8

void vd_boot_loader_remove_files(struct vd_boot_loader_files *files)
{
	if (files->kernel_made)
		unlinkat(files->dir_fd, files->kernel_name, 0);
	if (files->ramdisk_made)
		unlinkat(files->dir_fd, files->ramdisk_name, 0);
	files->kernel_made = files->ramdisk_made = false;
}

void vd_boot_loader_files_done(struct vd_boot_loader_files *files, bool keep)
{
	if (!keep)
		vd_boot_loader_remove_files(files);
	/* kept: the files now belong to libxl, which maps and unlinks them */
	files->kernel_made = files->ramdisk_made = false;
	if (files->dir_fd >= 0)
		close(files->dir_fd);
	files->dir_fd = -1;
}

void vd_boot_loader_result_dispose(struct vd_boot_loader_result *r)
{
	free(r->output);
	free(r->source);
	memset(r, 0, sizeof(*r));
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int open_disk(const char *path, int *ret_fd, uint64_t *ret_size)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	unsigned waited = 0;
	uint64_t size;

	for (;;) {
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd >= 0)
			break;
		if ((errno != ENOENT && errno != ENXIO && errno != ENODEV) ||
		    strncmp(path, "/dev/", 5) || waited >= DISK_WAIT_MS)
			return vd_err(-errno, "cannot open disk %s: %m%s", path,
				      waited ? " (waited for it to appear)" : "");
		sleep_ms(100);
		waited += 100;
	}
	if (fstat(fd, &st) < 0)
		return vd_err(-errno, "cannot stat disk %s: %m", path);
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &size) < 0)
			return vd_err(-errno, "cannot size block device %s: %m", path);
	} else if (S_ISREG(st.st_mode)) {
		size = (uint64_t)st.st_size;
	} else {
		return vd_err(-EINVAL, "disk %s is neither a block device nor an image file", path);
	}
	if (size < 1024)
		return vd_err(-EINVAL, "disk %s is empty or too small to hold a filesystem", path);
	*ret_fd = TAKE_FD(fd);
	*ret_size = size;
	return 0;
}

static int make_output_file(int dir_fd, const char *prefix, char *name, size_t len)
{
	uint8_t rnd[8];
	int fd, r;

	for (int tries = 0; tries < 16; tries++) {
		r = vd_random(rnd, sizeof(rnd));
		if (r < 0)
			return r;
		snprintf(name, len, "%s.%02x%02x%02x%02x%02x%02x%02x%02x", prefix, rnd[0], rnd[1],
			 rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
		fd = openat(dir_fd, name,
			    O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

/* ---- the sandboxed side ---- */

struct child_job {
	const struct vd_run *runs; /* a disk path: its one run */
	size_t n_runs;
	int remote_fd;	      /* --vd: reads go to the parent over this socket */
	uint64_t remote_size; /* --vd: the VD's size */
	int probe_fd;	      /* --vd: the sealed buffer libblkid probes */
	struct vd_boot_request req;
	int kernel_fd, ramdisk_fd;
};

static int put(int fd, const char *key, const char *value)
{
	size_t kl = strlen(key) + 1, vl = strlen(value) + 1;

	if (write(fd, key, kl) != (ssize_t)kl || write(fd, value, vl) != (ssize_t)vl)
		return -EIO;
	return 0;
}

static int child_work(void *userdata, int reply_fd)
{
	struct child_job *job = userdata;
	struct vd_boot_disk disk;
	struct vd_boot_result res = {};
	char num[32];
	int r;

	if (job->remote_fd >= 0) {
		r = vd_boot_disk_init_remote(&disk, job->remote_fd, job->remote_size);
		vd_boot_disk_set_probe_buffer(&disk, job->probe_fd);
	} else
		r = vd_boot_disk_init(&disk, job->runs, job->n_runs);
	if (r == 0)
		r = vd_boot_find(&disk, &job->req, job->kernel_fd, job->ramdisk_fd, &res);
	if (r < 0) {
		put(reply_fd, "error", vd_errmsg());
		return 1;
	}
	put(reply_fd, "args", res.args);
	put(reply_fd, "kernel", res.kernel_path);
	if (res.ramdisk_paths)
		put(reply_fd, "ramdisk", res.ramdisk_paths);
	put(reply_fd, "source", res.source);
	snprintf(num, sizeof(num), "%" PRIu64, res.kernel_size);
	put(reply_fd, "kernel_size", num);
	snprintf(num, sizeof(num), "%" PRIu64, res.ramdisk_size);
	put(reply_fd, "ramdisk_size", num);
	put(reply_fd, "has_ramdisk", res.has_ramdisk ? "1" : "0");
	if (res.listing)
		put(reply_fd, "listing", res.listing);
	if (res.kernel_extents)
		put(reply_fd, "kernel_extents", res.kernel_extents);
	if (res.ramdisk_extents)
		put(reply_fd, "ramdisk_extents", res.ramdisk_extents);
	vd_boot_result_dispose(&res);
	return 0;
}

/* A value of the child's reply. The child parsed guest data and is not trusted: every value
 * that may be printed has its control characters replaced (vd_boot_sanitize) on the way in. */
static const char *reply_get(const char *reply, size_t len, const char *key)
{
	const char *p = reply, *end = reply + len;

	while (p < end) {
		const char *k = p, *v;

		p = memchr(p, '\0', (size_t)(end - p));
		if (!p)
			return NULL;
		v = ++p;
		p = memchr(p, '\0', (size_t)(end - p));
		if (!p)
			return NULL;
		p++;
		if (!strcmp(k, key))
			return v;
	}
	return NULL;
}

/* ---- the parent ---- */

/* The reader found where a file's bytes lie; we copy them, kernel to kernel. */
struct extent {
	uint64_t out_off, disk_off, len;
};

/* A run of pieces one thread copies in order; a piece is an extent of one output file. */
struct copy_piece {
	uint64_t out_off, disk_off, len;
	int out_fd;
	const char *what; /* "kernel" or "ramdisk", for the error */
};

struct copy_job {
	const struct vd_boot_disk *disk;
	const struct copy_piece *p;
	size_t n;
	int r;
	const char *failed; /* the file whose piece failed */
};

/* Every range must lie inside the guest's disk and inside the file's size, in order and without
 * overlap; checked in full before a byte is copied. */
static int parse_extents(const struct vd_boot_disk *disk, const char *list, uint64_t size,
			 const char *what, struct extent **ret, size_t *ret_n)
{
	_cleanup_free_ struct extent *x = NULL;
	size_t n = 0, cap = 0;
	uint64_t next = 0;

	for (const char *p = list; *p;) {
		char *end;
		uint64_t out_off, disk_off, len;

		errno = 0;
		out_off = strtoull(p, &end, 10);
		if (*end != ' ')
			goto bad;
		disk_off = strtoull(end + 1, &end, 10);
		if (*end != ' ')
			goto bad;
		len = strtoull(end + 1, &end, 10);
		if (*end != '\n' || errno || len == 0 || out_off < next || out_off > size ||
		    len > size - out_off || disk_off > disk->size || len > disk->size - disk_off)
			goto bad;
		next = out_off + len;
		if (n == cap) {
			struct extent *grown;

			cap = cap ? cap * 2 : 16;
			grown = reallocarray(x, cap, sizeof(*x));
			if (!grown)
				return -ENOMEM;
			x = grown;
		}
		x[n++] = (struct extent){ out_off, disk_off, len };
		p = end + 1;
	}
	*ret = TAKE_PTR(x);
	*ret_n = n;
	return 0;
bad:
	return vd_err(-EIO, "the reader's extent list for the %s is inconsistent; refusing it",
		      what);
}

static void *copy_job_run(void *userdata)
{
	struct copy_job *j = userdata;
	int p[2];
	bool piped = pipe2(p, O_CLOEXEC) == 0;

	/* a pipe as large as the kernel lets root make it (pipe-max-size does not bind root) */
	if (piped && fcntl(p[1], F_SETPIPE_SZ, VD_BOOT_COPY_PIPE) < 0) {
		close(p[0]);
		close(p[1]);
		piped = false;
	}
	j->r = 0;
	for (size_t i = 0; i < j->n && j->r == 0; i++) {
		const struct copy_piece *x = &j->p[i];

		j->r = vd_boot_disk_copy_to(j->disk, x->disk_off, x->len, x->out_fd, x->out_off,
					    piped ? p : NULL);
		if (piped && (j->r == -EINVAL || j->r == -ENOSYS)) {
			/* an output filesystem that cannot splice: the pipe may hold bytes of
			 * this piece, so drop it and copy the piece again without it */
			close(p[0]);
			close(p[1]);
			piped = false;
			j->r = vd_boot_disk_copy_to(j->disk, x->disk_off, x->len, x->out_fd,
						    x->out_off, NULL);
		}
		if (j->r < 0)
			j->failed = x->what;
	}
	if (piped) {
		close(p[0]);
		close(p[1]);
	}
	return NULL;
}

/* The copy, started as soon as the reader's reply is complete, while it exits. */
struct early_copy {
	const struct vd_boot_disk *disk;
	int kernel_fd, ramdisk_fd;
	bool started;
	int r;
};

static const char *reply_get(const char *reply, size_t len, const char *key);
static int copy_files(const struct vd_boot_disk *disk, const struct extent *kx, size_t kn,
		      int kernel_fd, const struct extent *rx, size_t rn, int ramdisk_fd);

/* Everything here is checked again once the reader has exited: the extents against the disk
 * and the sizes it claims, the files' sizes against its claims and the caps. */
static void copy_on_reply(void *userdata, const char *reply, size_t len)
{
	struct early_copy *e = userdata;
	const char *ksize = reply_get(reply, len, "kernel_size");
	const char *rsize = reply_get(reply, len, "ramdisk_size");
	const char *kext = reply_get(reply, len, "kernel_extents");
	const char *rext = reply_get(reply, len, "ramdisk_extents");
	_cleanup_free_ struct extent *kx = NULL, *rx = NULL;
	size_t kn = 0, rn = 0;

	if (reply_get(reply, len, "error"))
		return;
	e->started = true;
	e->r = 0;
	if (kext && ksize)
		e->r = parse_extents(e->disk, kext, strtoull(ksize, NULL, 10), "kernel", &kx, &kn);
	if (e->r == 0 && rext && rsize)
		e->r = parse_extents(e->disk, rext, strtoull(rsize, NULL, 10), "ramdisk", &rx,
				     &rn);
	if (e->r == 0)
		e->r = copy_files(e->disk, kx, kn, e->kernel_fd, rx, rn, e->ramdisk_fd);
	vd_sandbox_mark("copied");
}

/* Below this the second thread costs more than it saves. */
#define PARALLEL_MIN (2u << 20)
/* Where the halves meet inside an extent: a multiple of this in the output file */
#define SPLIT_ALIGN (64u << 10)

/* Appends extents x[0..n) of one file to pieces, and returns the bytes. */
static uint64_t add_pieces(struct copy_piece *pieces, size_t *np, const struct extent *x,
			   size_t n, int out_fd, const char *what)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < n; i++) {
		pieces[(*np)++] = (struct copy_piece){ x[i].out_off, x[i].disk_off, x[i].len,
						       out_fd, what };
		sum += x[i].len;
	}
	return sum;
}

/* The kernel's pieces, then the ramdisk's, cut in two runs of about equal bytes, one per thread
 * on more than one CPU. Writes to one file serialise on its inode's lock, but splice's other
 * half (taking the disk's page-cache pages into the pipe) does not, so even the part where both
 * threads write the ramdisk goes faster than one thread; and the kernel, the other file, goes
 * alongside in full. Measured on a 7 + 30 MiB pair, whole runs interleaved with the older cut
 * (one thread per file): 0.93-1.00x its wall time, for 1.1-1.3x its CPU time. */
static int copy_files(const struct vd_boot_disk *disk, const struct extent *kx, size_t kn,
		      int kernel_fd, const struct extent *rx, size_t rn, int ramdisk_fd)
{
	_cleanup_free_ struct copy_piece *pieces = calloc(kn + rn + 1, sizeof(*pieces));
	struct copy_job first = { .disk = disk }, second = { .disk = disk };
	uint64_t total, half, sum = 0;
	size_t n = 0, cut;
	pthread_t t;
	bool threaded = false;

	if (!pieces)
		return -ENOMEM;
	total = add_pieces(pieces, &n, kx, kn, kernel_fd, "kernel");
	total += add_pieces(pieces, &n, rx, rn, ramdisk_fd, "ramdisk");
	first.p = pieces;
	first.n = n;
	if (total >= PARALLEL_MIN && sysconf(_SC_NPROCESSORS_ONLN) > 1) {
		half = total / 2;
		for (cut = 0; cut < n && sum + pieces[cut].len <= half; cut++)
			sum += pieces[cut].len;
		if (cut < n && sum < half) {
			/* split piece cut where the output offset reaches a SPLIT_ALIGN boundary
			 * near the middle; the second part becomes a piece of its own */
			struct copy_piece *x = &pieces[cut];
			uint64_t at = x->out_off + (half - sum);
			uint64_t keep = (at & ~(uint64_t)(SPLIT_ALIGN - 1)) - x->out_off;

			if (at >= x->out_off + SPLIT_ALIGN && keep > 0 && keep < x->len) {
				memmove(x + 1, x, (n - cut) * sizeof(*x));
				x[0].len = keep;
				x[1].out_off += keep;
				x[1].disk_off += keep;
				x[1].len -= keep;
				n++;
				cut++;
			}
		}
		first.n = cut;
		second.p = pieces + cut;
		second.n = n - cut;
		if (first.n && second.n) {
			pthread_attr_t attr;

			/* it copies through the kernel: a small stack is plenty */
			if (pthread_attr_init(&attr) == 0) {
				pthread_attr_setstacksize(&attr, 64 * 1024);
				threaded = pthread_create(&t, &attr, copy_job_run, &second) == 0;
				pthread_attr_destroy(&attr);
			}
		}
		if (!threaded) {
			first.n = n;
			second.n = 0;
		}
	}
	copy_job_run(&first);
	if (threaded)
		pthread_join(t, NULL);
	if (first.r < 0)
		return vd_err(-EIO, "cannot copy the %s from the disk: %s", first.failed,
			      strerror(-first.r));
	if (second.r < 0)
		return vd_err(-EIO, "cannot copy the %s from the disk: %s", second.failed,
			      strerror(-second.r));
	return 0;
}

/* Guest text reaches the terminal and libxl's bootloader log: the error, the source and the
 * listing have C0/DEL/C1 controls replaced (the listing keeps its newlines). The kernel, ramdisk
 * and args values are refused instead when they hold any (vd_boot_output_render). */
static size_t sanitize_reply(char *reply, size_t len)
{
	char *p = reply, *end = reply + len;

	while (p < end) {
		char *k = p, *v, *vend;

		v = memchr(p, '\0', (size_t)(end - p));
		if (!v)
			break;
		v++;
		vend = memchr(v, '\0', (size_t)(end - v));
		if (!vend)
			break;
		if (!strcmp(k, "error") || !strcmp(k, "source") || !strcmp(k, "listing")) {
			size_t old = (size_t)(vend - v);
			size_t n = vd_boot_sanitize(v, old, !strcmp(k, "listing"));

			memmove(v + n, vend, (size_t)(end - vend)); /* the value shrank */
			end -= old - n;
			vend = v + n;
		}
		p = vend + 1;
	}
	return (size_t)(end - reply);
}

static int serve_disk(void *userdata, int fd)
{
	return vd_boot_disk_serve_one(userdata, fd);
}

int vd_boot_loader_run(const struct vd_boot_loader_opts *o, struct vd_boot_loader_files *files,
		       struct vd_boot_loader_result *ret)
{
	struct vd_config cfg = {};
	struct vd_run *segs = NULL;
	size_t n_segs = 0;
	_cleanup_free_ struct vd_run *runs = NULL;
	size_t n_runs = 0;
	_cleanup_close_ int disk_fd = -EBADF, kernel_fd = -EBADF,
			    ramdisk_fd = -EBADF, probe_fd = -EBADF, probe_rw = -EBADF;
	_cleanup_free_ char *reply = NULL, *kernel_out = NULL, *ramdisk_out = NULL,
			    *rendered = NULL, *source = NULL;
	size_t reply_len = 0, rendered_len = 0;
	struct vd_sandbox_opts sb = { .service_fd = -1 };
	struct child_job job = { .remote_fd = -1, .probe_fd = -1 };
	struct vd_boot_disk vd_disk = {}, local_disk = {};
	struct early_copy early = {};
	int vd_sock[2] = { -1, -1 };
	int keep[VD_MAX_KEEP_FDS], n_keep = 0, status = 0, r;
	char fdpath[64];
	const char *v, *out_dir = o->output_dir ? o->output_dir : DEFAULT_OUTPUT_DIR;
	bool copying = !o->list && !o->dryrun;

	r = vd_config_load(o->config, &cfg);
	if (r < 0)
		return r;
	vd_sandbox_mark("config-loaded");

	if (o->vd) {
		if (!o->vd_source) {
			/* the program links the pool reader or hands --vd to one that does */
			r = vd_err(-ENOTSUP, "--vd=%s: this vdloader was built without the pool "
					     "reader; run vdloader-vd", o->vd);
			goto out;
		}
		r = o->vd_source->runs(cfg.db_path, o->vd, &segs, &n_segs);
		if (r < 0)
			goto out;
		r = vd_boot_disk_init(&vd_disk, segs, n_segs);
		if (r < 0) {
			r = vd_err(r, "VD %s: inconsistent extent map", o->vd);
			goto out;
		}
		/* The pool devices hold other tenants' extents: the sandboxed reader gets a
		 * socket to ask the parent for bytes of this VD only, never their fds. */
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, vd_sock) < 0) {
			r = vd_err(-errno, "socketpair: %m");
			goto out;
		}
		keep[n_keep++] = vd_sock[1];
		/* libblkid probes a file as large as the disk: a sparse memfd we fill with the
		 * probed range's edges on request. The reader gets a read-only fd of it and may not
		 * create files in memory (memfd_create is outside its allowlist). */
		probe_rw = memfd_create("vdloader-probe", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (probe_rw < 0 || ftruncate(probe_rw, (off_t)vd_disk.size) < 0 ||
		    fcntl(probe_rw, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0) {
			r = vd_err(-errno, "cannot make the probe buffer: %m");
			goto out;
		}
		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", probe_rw);
		probe_fd = open(fdpath, O_RDONLY | O_CLOEXEC);
		if (probe_fd < 0) {
			r = vd_err(-errno, "cannot reopen the probe buffer read-only (%s): %m", fdpath);
			goto out;
		}
		vd_boot_disk_set_probe_buffer(&vd_disk, probe_rw);
		keep[n_keep++] = probe_fd;
		job.probe_fd = probe_fd;
		sb.service_fd = vd_sock[0];
		sb.service = serve_disk;
		sb.service_userdata = &vd_disk;
		job.remote_fd = vd_sock[1];
		job.remote_size = vd_disk.size;
	} else {
		uint64_t size = 0;

		r = open_disk(o->disk, &disk_fd, &size);
		if (r < 0)
			goto out;
		runs = calloc(1, sizeof(*runs));
		if (!runs) {
			r = -ENOMEM;
			goto out;
		}
		runs[0] = (struct vd_run){ .fd = disk_fd, .length = size };
		n_runs = 1;
		r = vd_boot_disk_init(&local_disk, runs, n_runs);
		if (r < 0)
			goto out;
		keep[n_keep++] = disk_fd;
	}

	if (copying) {
		if (!o->output_dir && mkdir("/var/run/xen", 0700) < 0 && errno != EEXIST) {
			r = vd_err(-errno, "cannot create /var/run/xen: %m");
			goto out;
		}
		if (!o->output_dir && mkdir(out_dir, 0700) < 0 && errno != EEXIST) {
			r = vd_err(-errno, "cannot create %s: %m", out_dir);
			goto out;
		}
		files->dir_fd = open(out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (files->dir_fd < 0) {
			r = vd_err(-errno, "cannot open --output-directory=%s: %m", out_dir);
			goto out;
		}
		kernel_fd = make_output_file(files->dir_fd, "boot_kernel", files->kernel_name,
					     sizeof(files->kernel_name));
		if (kernel_fd < 0) {
			r = vd_err(kernel_fd, "cannot create a kernel file in %s: %s", out_dir,
				   strerror(-kernel_fd));
			goto out;
		}
		files->kernel_made = true;
		ramdisk_fd = make_output_file(files->dir_fd, "boot_ramdisk", files->ramdisk_name,
					      sizeof(files->ramdisk_name));
		if (ramdisk_fd < 0) {
			r = vd_err(ramdisk_fd, "cannot create a ramdisk file in %s: %s", out_dir,
				   strerror(-ramdisk_fd));
			goto out;
		}
		files->ramdisk_made = true;
		keep[n_keep++] = kernel_fd;
		keep[n_keep++] = ramdisk_fd;
	}

	vd_sandbox_mark("disk-and-outputs-open");
	r = vd_sandbox_resolve_user(o->runas, &sb.uid, &sb.gid);
	if (r < 0)
		goto out;
	vd_sandbox_mark("user-resolved");
	sb.timeout_sec = cfg.boot_timeout > 0 ? (unsigned)cfg.boot_timeout : 0;
	sb.fsize_max = (cfg.kernel_max > cfg.ramdisk_max ? cfg.kernel_max : cfg.ramdisk_max) + 4;
	sb.unprivileged = o->unprivileged;
	sb.keep_fds = keep;
	sb.n_keep_fds = (size_t)n_keep;

	job.runs = runs;
	job.n_runs = n_runs;
	job.kernel_fd = copying ? kernel_fd : -1;
	job.ramdisk_fd = copying ? ramdisk_fd : -1;
	job.req = (struct vd_boot_request){
		.kernel = o->kernel,
		.ramdisk = o->ramdisk,
		.entry = o->entry,
		.root = o->root,
		.extra_args = o->args,
		.list = o->list,
		.kernel_max = cfg.kernel_max,
		.ramdisk_max = cfg.ramdisk_max,
		.config_max = cfg.config_max,
		.extents = copying,
	};
	early = (struct early_copy){ .disk = o->vd ? &vd_disk : &local_disk,
				     .kernel_fd = kernel_fd, .ramdisk_fd = ramdisk_fd };
	if (copying) {
		sb.on_reply = copy_on_reply;
		sb.on_reply_userdata = &early;
	}
	r = vd_sandbox_run(&sb, child_work, &job, REPLY_MAX, &reply, &reply_len, &status);
	if (r < 0)
		goto out;
	reply_len = sanitize_reply(reply, reply_len);
	if (status != 0) {
		v = reply_get(reply, reply_len, "error");
		r = vd_err(-EIO, "%s", v ? v : "the sandboxed reader failed");
		goto out;
	}

	if (o->list) {
		v = reply_get(reply, reply_len, "listing");
		rendered = strdup(v ? v : "");
		if (!rendered) {
			r = -ENOMEM;
			goto out;
		}
		rendered_len = strlen(rendered);
		goto done;
	}
	v = reply_get(reply, reply_len, "source");
	source = strdup(v ? v : "");
	if (!source) {
		r = -ENOMEM;
		goto out;
	}

	if (copying) {
		const char *has_ramdisk = reply_get(reply, reply_len, "has_ramdisk");
		const char *ksize = reply_get(reply, reply_len, "kernel_size");
		const char *rsize = reply_get(reply, reply_len, "ramdisk_size");
		const char *kext = reply_get(reply, reply_len, "kernel_extents");
		const char *rext = reply_get(reply, reply_len, "ramdisk_extents");
		struct stat st;

		/* copied while the reader exited (copy_on_reply); the files are checked below */
		if (!early.started && (kext || rext))
			r = vd_err(-EIO, "the reader's reply came without its extents; refusing it");
		else
			r = early.r;
		if (r < 0)
			goto out;

		/* Trust the files, not the child's word: sizes must agree and fit the caps. */
		if (!ksize || fstat(kernel_fd, &st) < 0 ||
		    (uint64_t)st.st_size != strtoull(ksize, NULL, 10) ||
		    (uint64_t)st.st_size > cfg.kernel_max || st.st_size == 0) {
			r = vd_err(-EIO, "the kernel copy is inconsistent (size %lld); refusing it",
				   (long long)st.st_size);
			goto out;
		}
		if (asprintf(&kernel_out, "%s/%s", out_dir, files->kernel_name) < 0) {
			r = -ENOMEM;
			goto out;
		}
		if (has_ramdisk && !strcmp(has_ramdisk, "1")) {
			if (!rsize || fstat(ramdisk_fd, &st) < 0 ||
			    (uint64_t)st.st_size != strtoull(rsize, NULL, 10) ||
			    (uint64_t)st.st_size > cfg.ramdisk_max) {
				r = vd_err(-EIO, "the ramdisk copy is inconsistent; refusing it");
				goto out;
			}
			if (asprintf(&ramdisk_out, "%s/%s", out_dir,
				     files->ramdisk_name) < 0) {
				r = -ENOMEM;
				goto out;
			}
		} else {
			unlinkat(files->dir_fd, files->ramdisk_name, 0);
			files->ramdisk_made = false;
		}
	} else {
		v = reply_get(reply, reply_len, "kernel");
		kernel_out = strdup(v ? v : "");
		v = reply_get(reply, reply_len, "ramdisk");
		ramdisk_out = v ? strdup(v) : NULL;
		if (!kernel_out) {
			r = -ENOMEM;
			goto out;
		}
	}
	r = vd_boot_output_render(o->format, kernel_out, ramdisk_out,
				  reply_get(reply, reply_len, "args"), &rendered, &rendered_len);
	if (r < 0) {
		r = vd_err_prefix(r, "cannot emit the result");
		goto out;
	}
done:
	ret->output = TAKE_PTR(rendered);
	ret->output_len = rendered_len;
	ret->source = TAKE_PTR(source);
	r = 0;
out:
	if (r < 0)
		vd_boot_loader_files_done(files, false);
	if (vd_sock[0] >= 0)
		close(vd_sock[0]);
	if (vd_sock[1] >= 0)
		close(vd_sock[1]);
	if (segs)
		o->vd_source->runs_free(segs, n_segs);
	vd_config_dispose(&cfg);
	return r;
}
