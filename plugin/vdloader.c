/* vdloader: the libxl bootloader for xenvd guests. Thin: options, signals, and writing the
 * result where libxl reads it; the run itself is vd_boot_loader_run (boot/boot_loader.c).
 * See vdloader(1).
 *
 * Built twice where libc.a is installed (configure.ac): vdloader, fully static and without the
 * pool's database code, which execs vdloader-vd for --vd=ID; and vdloader-vd
 * (VDLOADER_VD_IN_PROCESS), dynamically linked against libsanlock_client, which reads the pool
 * itself. Otherwise vdloader alone, reading --vd itself. */
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "boot/boot_loader.h"
#include "boot/sandbox.h"
#ifdef VDLOADER_VD_IN_PROCESS
#include "boot/boot_vd.h"
#define VD_SOURCE (&vd_boot_vd_pool)
#else
#define VD_SOURCE NULL
#define VD_HELPER "vdloader-vd"
#endif

struct options {
	const char *kernel, *ramdisk, *args, *runas, *output, *output_dir, *entry, *root;
	const char *vd, *config, *disk;
	enum vd_boot_format format;
	bool quiet, verbose, list, dryrun, unprivileged;
};

/* What the run made and must be removed if anything fails, also from a signal handler. */
static struct vd_boot_loader_files files = { .dir_fd = -1 };

static void on_signal(int sig)
{
	/* libxl sends SIGTERM when the domain dies mid-boot: leave nothing behind */
	vd_boot_loader_remove_files(&files);
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
		case O_CONFIG:
			o->config = optarg;
			/* the library reads it too where it needs to (a shared pool's host_id) */
			setenv("XENVD_CONF", optarg, 1);
			break;
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

/* The result goes to the --output file libxl precreated (truncated, written from offset 0), or
 * to stdout as it stands: `vdloader -l disk >> log` appends, whatever stdout is. */
static int write_output(const struct options *o, int out_fd, bool precreated, const char *text,
			size_t len)
{
	size_t done = 0;

	if (precreated && ftruncate(out_fd, 0) < 0)
		return vd_err(-errno, "cannot truncate %s: %m", o->output);
	while (done < len) {
		ssize_t n = precreated ? pwrite(out_fd, text + done, len - done, (off_t)done)
				       : write(out_fd, text + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return vd_err(n < 0 ? -errno : -EIO, "cannot write the result to %s: %m",
				      precreated ? o->output : "stdout");
		done += (size_t)n;
	}
	return 0;
}

static int run(const struct options *o)
{
	struct vd_boot_loader_opts lo = {
		.disk = o->disk, .vd = o->vd, .vd_source = VD_SOURCE, .config = o->config,
		.output_dir = o->output_dir, .runas = o->runas, .kernel = o->kernel,
		.ramdisk = o->ramdisk, .args = o->args, .entry = o->entry, .root = o->root,
		.format = o->format, .list = o->list, .dryrun = o->dryrun,
		.unprivileged = o->unprivileged,
	};
	struct vd_boot_loader_result res = {};
	/* only libxl's precreated result file is ours to truncate; never what stdout points to */
	bool precreated = !o->list && o->output && strcmp(o->output, "-");
	_cleanup_close_ int out_fd = -EBADF;
	int r;

	/* The output file first (pygrub 0710d7d445): libxl precreated it, so no O_CREAT. */
	if (precreated) {
		out_fd = open(o->output, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
		if (out_fd < 0)
			return vd_err(-errno, "cannot open --output=%s: %m (libxl creates it first; "
					      "create it yourself when running by hand)", o->output);
	} else {
		out_fd = dup(STDOUT_FILENO);
		if (out_fd < 0)
			return vd_err(-errno, "stdout: %m");
	}
	if (o->unprivileged && geteuid() == 0)
		vd_warn("--unprivileged-sandbox: parsing guest data without namespaces, chroot or "
			"uid change (meant for tests run as an ordinary user)");
	r = vd_boot_loader_run(&lo, &files, &res);
	if (r == 0 && res.source && *res.source && !o->quiet)
		vd_info("booting %s", res.source);
	if (r == 0)
		r = write_output(o, out_fd, precreated, res.output, res.output_len);
	vd_boot_loader_files_done(&files, r == 0);
	if (r < 0) {
		struct stat st;

		if (precreated && fstat(out_fd, &st) == 0 && S_ISREG(st.st_mode))
			(void)!ftruncate(out_fd, 0);
	}
	vd_boot_loader_result_dispose(&res);
	return r;
}

#ifndef VDLOADER_VD_IN_PROCESS
/* --vd=ID: vdloader-vd, installed beside this program, reads the pool with the same command
 * line (exec keeps the pid libxl waits for and signals). Returns only on failure. */
static int exec_vd_reader(const char *vd, char **argv)
{
	char self[PATH_MAX], helper[PATH_MAX + sizeof(VD_HELPER)];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash = NULL;

	if (n > 0) {
		self[n] = '\0';
		/* a program replaced while it runs reads "DIR/vdloader (deleted)": DIR holds */
		slash = strrchr(self, '/');
	}
	if (slash)
		snprintf(helper, sizeof(helper), "%.*s/" VD_HELPER, (int)(slash - self), self);
	else
		snprintf(helper, sizeof(helper), "%s/" VD_HELPER, XENVD_LIBEXEC_DIR);
	execv(helper, argv);
	return vd_err(-errno, "--vd=%s needs %s, the pool reader installed with vdloader: %m", vd,
		      helper);
}
#endif

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

	if (getenv("XENVD_VDLOADER_TIMING"))
		vd_sandbox_marks_enable(); /* make bench-vdloader: where the time goes */
	vd_log_set_sink(log_sink, NULL);
	r = parse_options(argc, argv, &o);
#ifndef VDLOADER_VD_IN_PROCESS
	if (r == 0 && o.vd)
		r = exec_vd_reader(o.vd, argv);
#endif
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
	vd_sandbox_mark("done");
	if (r < 0) {
		fprintf(stderr, "vdloader: %s\n", vd_errmsg());
		return 1;
	}
	return 0;
}
