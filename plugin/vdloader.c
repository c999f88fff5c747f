/* vdloader: the libxl bootloader for xenvd guests. Thin: arguments, opening the disk and the
 * output files as root, the sandboxed reader (boot_find.c inside sandbox.c), and the output
 * libxl parses. See vdloader(1) and XEN-CONTRACTS.md §3. */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "boot/boot_disk.h"
#include "boot/boot_find.h"
#include "boot/boot_output.h"
#include "base/config.h"
#include "pool/db.h"
#include "base/error.h"
#include "boot/sandbox.h"
#include "pool/vdisk.h"

#define DEFAULT_OUTPUT_DIR "/var/run/xen/vdloader"
#define DISK_WAIT_MS 5000 /* /dev/xvdX may appear a little after libxl hands it over */
#define REPLY_MAX (8u << 20)
#define VD_MAX_KEEP_FDS 8

struct options {
	const char *kernel, *ramdisk, *args, *runas, *output, *output_dir, *entry, *root;
	const char *vd, *config, *disk;
	enum vd_boot_format format;
	bool quiet, verbose, list, dryrun, unprivileged;
};

/* What the parent must remove if anything fails, also from a signal handler. */
static struct {
	int dir_fd;
	char kernel_name[64], ramdisk_name[64];
	bool kernel_made, ramdisk_made;
	volatile pid_t child;
} cleanup_state = { .dir_fd = -1 };

static void remove_outputs(void)
{
	if (cleanup_state.kernel_made)
		unlinkat(cleanup_state.dir_fd, cleanup_state.kernel_name, 0);
	if (cleanup_state.ramdisk_made)
		unlinkat(cleanup_state.dir_fd, cleanup_state.ramdisk_name, 0);
	cleanup_state.kernel_made = cleanup_state.ramdisk_made = false;
}

static void on_signal(int sig)
{
	/* libxl sends SIGTERM when the domain dies mid-boot: leave nothing behind */
	remove_outputs();
	_exit(128 + sig);
}

static _Noreturn void usage(FILE *out, int status)
{
	fprintf(out,
		"Usage: vdloader [OPTIONS] DISK\n"
		"       vdloader [OPTIONS] --vd=ID\n"
		"Extracts a guest's kernel and initrd for libxl (bootloader = \"vdloader\").\n\n"
		"  --output=FILE            result file (libxl precreates it; '-' = stdout)\n"
		"  --output-format=FMT      simple0 (libxl), simple or sxp\n"
		"  --output-directory=DIR   where kernel and ramdisk copies go\n"
		"  --kernel=PATH            boot this guest path; no config parsing\n"
		"  --ramdisk=PATH           with --kernel: this initrd\n"
		"  --args=ARGS              appended to the entry's command line\n"
		"  --entry=[DEV:]KERNEL[,INITRD] | N | TITLE | ID\n"
		"                           a kernel path, or a menu entry\n"
		"  --root=DEV               the root partition (xvda2, UUID=, LABEL=)\n"
		"  --vd=ID                  read VD ID straight from the pool (no DISK)\n"
		"  --runas=USER|UID         user the sandboxed reader runs as (default nobody)\n"
		"  --config=FILE            xenvd.conf to read (size caps, timeout)\n"
		"  -l, --list-entries       list the boot entries and exit\n"
		"      --dryrun             show what would boot; copy nothing\n"
		"  -q, --quiet              no messages but errors\n"
		"  -v, --verbose            debug messages\n"
		"      --unprivileged-sandbox  tests only: no namespaces/chroot/uid change\n"
		"  -h, --help\n");
	exit(status);
}

static int parse_options(int argc, char **argv, struct options *o)
{
	enum { O_KERNEL = 256, O_RAMDISK, O_ARGS, O_RUNAS, O_OUTPUT, O_FORMAT, O_DIR, O_ENTRY,
	       O_ROOT, O_VD, O_CONFIG, O_DRYRUN, O_UNPRIV };
	static const struct option longopts[] = {
		{ "kernel", required_argument, NULL, O_KERNEL },
		{ "ramdisk", required_argument, NULL, O_RAMDISK },
		{ "args", required_argument, NULL, O_ARGS },
		{ "runas", required_argument, NULL, O_RUNAS },
		{ "output", required_argument, NULL, O_OUTPUT },
		{ "output-format", required_argument, NULL, O_FORMAT },
		{ "output-directory", required_argument, NULL, O_DIR },
		{ "entry", required_argument, NULL, O_ENTRY },
		{ "root", required_argument, NULL, O_ROOT },
		{ "vd", required_argument, NULL, O_VD },
		{ "config", required_argument, NULL, O_CONFIG },
		{ "dryrun", no_argument, NULL, O_DRYRUN },
		{ "unprivileged-sandbox", no_argument, NULL, O_UNPRIV },
		{ "list-entries", no_argument, NULL, 'l' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int c;

	o->format = VD_BOOT_SXP; /* pygrub's and domUloader's default; libxl asks for simple0 */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":lqvh", longopts, NULL)) != -1) {
		switch (c) {
		case O_KERNEL: o->kernel = optarg; break;
		case O_RAMDISK: o->ramdisk = optarg; break;
		case O_ARGS: o->args = optarg; break;
		case O_RUNAS: o->runas = optarg; break;
		case O_OUTPUT: o->output = optarg; break;
		case O_FORMAT:
			if (vd_boot_format_parse(optarg, &o->format) < 0)
				return vd_err(-EINVAL, "--output-format=%s: expected simple0, simple "
						       "or sxp", optarg);
			break;
		case O_DIR: o->output_dir = optarg; break;
		case O_ENTRY: o->entry = optarg; break;
		case O_ROOT: o->root = optarg; break;
		case O_VD: o->vd = optarg; break;
		case O_CONFIG: o->config = optarg; break;
		case O_DRYRUN: o->dryrun = true; break;
		case O_UNPRIV: o->unprivileged = true; break;
		case 'l': o->list = true; break;
		case 'q': o->quiet = true; break;
		case 'v': o->verbose = true; break;
		case 'h': usage(stdout, 0);
		case ':':
			return vd_err(-EINVAL, "option %s needs a value", argv[optind - 1]);
		default:
			return vd_err(-EINVAL, "unknown option %s (see vdloader --help)",
				      argv[optind - 1]);
		}
	}
	if (o->vd) {
		if (optind != argc)
			return vd_err(-EINVAL, "--vd=%s reads the VD from its pool: give no disk "
					       "path (got %s)", o->vd, argv[optind]);
	} else {
		if (optind == argc)
			return vd_err(-EINVAL, "no disk given: the disk path comes last "
					       "(see vdloader --help)");
		if (optind + 1 != argc)
			return vd_err(-EINVAL, "more than one disk given (%s, %s%s): options come "
					       "first, then one disk path",
				      argv[optind], argv[optind + 1], optind + 2 < argc ? ", ..." : "");
		o->disk = argv[optind];
	}
	if (o->ramdisk && !o->kernel) {
		/* as pygrub: a ramdisk= without kernel= in xl.cfg does not stop the menu */
		vd_warn("--ramdisk=%s is ignored without --kernel", o->ramdisk);
		o->ramdisk = NULL;
	}
	if (o->kernel && o->kernel[0] != '/')
		return vd_err(-EINVAL, "--kernel=%s: give an absolute path in the guest", o->kernel);
	if (o->ramdisk && o->ramdisk[0] != '/')
		return vd_err(-EINVAL, "--ramdisk=%s: give an absolute path in the guest",
			      o->ramdisk);
	return 0;
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

static int make_output_file(const char *prefix, char *name, size_t len)
{
	uint8_t rnd[8];
	int fd, r;

	for (int tries = 0; tries < 16; tries++) {
		r = vd_random(rnd, sizeof(rnd));
		if (r < 0)
			return r;
		snprintf(name, len, "%s.%02x%02x%02x%02x%02x%02x%02x%02x", prefix, rnd[0], rnd[1],
			 rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
		fd = openat(cleanup_state.dir_fd, name,
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

	if (job->remote_fd >= 0)
		r = vd_boot_disk_init_remote(&disk, job->remote_fd, job->remote_size);
	else
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
	vd_boot_result_dispose(&res);
	return 0;
}

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

static int serve_disk(void *userdata, int fd)
{
	return vd_boot_disk_serve_one(userdata, fd);
}

static int write_output(const struct options *o, int out_fd, const char *text, size_t len)
{
	struct stat st;
	int r;

	if (fstat(out_fd, &st) == 0 && S_ISREG(st.st_mode) && ftruncate(out_fd, 0) < 0)
		return vd_err(-errno, "cannot truncate %s: %m", o->output);
	r = vd_pwrite_all(out_fd, text, len, 0);
	if (r == -ESPIPE) { /* a pipe or terminal */
		size_t done = 0;

		while (done < len) {
			ssize_t n = write(out_fd, text + done, len - done);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return vd_err(-errno, "cannot write the result: %m");
			done += (size_t)n;
		}
		r = 0;
	}
	if (r < 0)
		return vd_err(r, "cannot write the result to %s: %s",
			      o->output ? o->output : "stdout", strerror(-r));
	return 0;
}

static int run(const struct options *o)
{
	struct vd_config cfg = {};
	_cleanup_db_ struct vd_db *db = NULL;
	struct vd_run *segs = NULL;
	size_t n_segs = 0;
	_cleanup_free_ struct vd_run *runs = NULL;
	size_t n_runs = 0;
	_cleanup_close_ int disk_fd = -EBADF, out_fd = -EBADF, kernel_fd = -EBADF,
			    ramdisk_fd = -EBADF;
	_cleanup_free_ char *reply = NULL, *kernel_out = NULL, *ramdisk_out = NULL,
			    *rendered = NULL;
	size_t reply_len = 0, rendered_len = 0;
	struct vd_sandbox_opts sb = { .service_fd = -1 };
	struct child_job job = { .remote_fd = -1 };
	struct vd_boot_disk vd_disk = {};
	int vd_sock[2] = { -1, -1 };
	int keep[VD_MAX_KEEP_FDS], n_keep = 0, status = 0, r;
	const char *v, *out_dir = o->output_dir ? o->output_dir : DEFAULT_OUTPUT_DIR;
	bool copying = !o->list && !o->dryrun;

	r = vd_config_load(o->config, &cfg);
	if (r < 0)
		return r;

	/* The output file first (pygrub 0710d7d445): libxl precreated it, so no O_CREAT. */
	if (!o->list && o->output && strcmp(o->output, "-")) {
		out_fd = open(o->output, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
		if (out_fd < 0) {
			r = vd_err(-errno, "cannot open --output=%s: %m (libxl creates it first; "
					   "create it yourself when running by hand)", o->output);
			goto out;
		}
	} else {
		out_fd = dup(STDOUT_FILENO);
		if (out_fd < 0) {
			r = vd_err(-errno, "stdout: %m");
			goto out;
		}
	}

	if (o->vd) {
		struct vd_vdisk vd = {};

		r = vd_db_open(cfg.db_path, VD_DB_READONLY, &db);
		if (r < 0)
			goto out;
		r = vd_vdisk_lookup(db, o->vd, &vd);
		if (r == 0) {
			r = vd_vdisk_runs(db, vd.id, O_RDONLY, &segs, &n_segs);
			vd_vdisk_dispose(&vd);
		}
		if (r < 0)
			goto out;
		if (n_segs == 0) {
			r = vd_err(-ENODATA, "VD %s has no extents", o->vd);
			goto out;
		}
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
		cleanup_state.dir_fd = open(out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cleanup_state.dir_fd < 0) {
			r = vd_err(-errno, "cannot open --output-directory=%s: %m", out_dir);
			goto out;
		}
		kernel_fd = make_output_file("boot_kernel", cleanup_state.kernel_name,
					     sizeof(cleanup_state.kernel_name));
		if (kernel_fd < 0) {
			r = vd_err(kernel_fd, "cannot create a kernel file in %s: %s", out_dir,
				   strerror(-kernel_fd));
			goto out;
		}
		cleanup_state.kernel_made = true;
		ramdisk_fd = make_output_file("boot_ramdisk", cleanup_state.ramdisk_name,
					      sizeof(cleanup_state.ramdisk_name));
		if (ramdisk_fd < 0) {
			r = vd_err(ramdisk_fd, "cannot create a ramdisk file in %s: %s", out_dir,
				   strerror(-ramdisk_fd));
			goto out;
		}
		cleanup_state.ramdisk_made = true;
		keep[n_keep++] = kernel_fd;
		keep[n_keep++] = ramdisk_fd;
	}

	if (o->unprivileged && geteuid() == 0)
		vd_warn("--unprivileged-sandbox: parsing guest data without namespaces, chroot or "
			"uid change (meant for tests run as an ordinary user)");
	r = vd_sandbox_resolve_user(o->runas, &sb.uid, &sb.gid);
	if (r < 0)
		goto out;
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
	};
	r = vd_sandbox_run(&sb, child_work, &job, REPLY_MAX, &reply, &reply_len, &status);
	if (r < 0)
		goto out;
	if (status != 0) {
		v = reply_get(reply, reply_len, "error");
		r = vd_err(-EIO, "%s", v ? v : "the sandboxed reader failed");
		goto out;
	}

	if (o->list) {
		v = reply_get(reply, reply_len, "listing");
		r = write_output(o, out_fd, v ? v : "", v ? strlen(v) : 0);
		goto out;
	}
	v = reply_get(reply, reply_len, "source");
	if (v && !o->quiet)
		vd_info("booting %s", v);

	if (copying) {
		const char *has_ramdisk = reply_get(reply, reply_len, "has_ramdisk");
		const char *ksize = reply_get(reply, reply_len, "kernel_size");
		const char *rsize = reply_get(reply, reply_len, "ramdisk_size");
		struct stat st;

		/* Trust the files, not the child's word: sizes must agree and fit the caps. */
		if (!ksize || fstat(kernel_fd, &st) < 0 ||
		    (uint64_t)st.st_size != strtoull(ksize, NULL, 10) ||
		    (uint64_t)st.st_size > cfg.kernel_max || st.st_size == 0) {
			r = vd_err(-EIO, "the kernel copy is inconsistent (size %lld); refusing it",
				   (long long)st.st_size);
			goto out;
		}
		if (asprintf(&kernel_out, "%s/%s", out_dir, cleanup_state.kernel_name) < 0) {
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
				     cleanup_state.ramdisk_name) < 0) {
				r = -ENOMEM;
				goto out;
			}
		} else {
			unlinkat(cleanup_state.dir_fd, cleanup_state.ramdisk_name, 0);
			cleanup_state.ramdisk_made = false;
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
	r = write_output(o, out_fd, rendered, rendered_len);
	if (r < 0)
		goto out;
	/* Success: the files now belong to libxl, which maps and unlinks them. */
	cleanup_state.kernel_made = cleanup_state.ramdisk_made = false;
out:
	if (r < 0) {
		struct stat st;

		remove_outputs();
		if (out_fd >= 0 && fstat(out_fd, &st) == 0 && S_ISREG(st.st_mode))
			(void)!ftruncate(out_fd, 0);
	}
	if (cleanup_state.dir_fd >= 0)
		close(cleanup_state.dir_fd);
	cleanup_state.dir_fd = -1;
	if (vd_sock[0] >= 0)
		close(vd_sock[0]);
	if (vd_sock[1] >= 0)
		close(vd_sock[1]);
	vd_vdisk_runs_free(segs, n_segs);
	vd_config_dispose(&cfg);
	return r;
}

static void log_sink(enum vd_log_level level, const char *msg, void *userdata)
{
	if (level <= vd_log_get_level())
		fprintf(stderr, "vdloader: %s\n", msg);
}

int main(int argc, char **argv)
{
	struct options o = {};
	struct sigaction sa = { .sa_handler = on_signal };
	int r;

	vd_log_set_sink(log_sink, NULL);
	r = parse_options(argc, argv, &o);
	if (r < 0) {
		fprintf(stderr, "vdloader: %s\n", vd_errmsg());
		return 1;
	}
	vd_log_set_level(o.verbose ? VD_LOG_DEBUG : (o.quiet ? VD_LOG_ERR : VD_LOG_WARN));
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	r = run(&o);
	if (r < 0) {
		fprintf(stderr, "vdloader: %s\n", vd_errmsg());
		return 1;
	}
	return 0;
}
