/* xl-vd: the command administrators type. main(), global options, the command table and the
 * output helpers every subcommand shares. */
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "xl-vd.h"
#include "vd_dm.h"

static const struct xlvd_command commands[] = {
	{ "format", cmd_format,
	  "format DEVICE [--extent-size SIZE] [--force] [--no-scrub] "
	  "[--pool-database|--file-database] [--max-extents N] [--shared]",
	  "add a block device or file to the pool (writes a label)" },
	{ "pool-list", cmd_pool_list, "pool-list", "list the pool's devices and their free space" },
	{ "pool-import", cmd_pool_import, "pool-import DEVICE...",
	  "bring a pool that carries its own database to this dom0 (found by its labels)" },
	{ "db-to-pool", cmd_db_to_pool, "db-to-pool [DEVICE] [--max-extents N]",
	  "move the pool's database from its file onto the pool's devices" },
	{ "pool-share", cmd_pool_share, "pool-share",
	  "make the pool shared by the hosts of a SAN (sanlock leases on its metadata device)" },
	{ "lockspace-start", cmd_lockspace_start, "lockspace-start [--no-wait]",
	  "join the shared pool's lockspace as this host's host_id" },
	{ "lockspace-stop", cmd_lockspace_stop, "lockspace-stop",
	  "leave the shared pool's lockspace (nothing of the pool attached here)" },
	{ "host-list", cmd_host_list, "host-list",
	  "the hosts of the shared pool, live or dead as sanlock sees them" },
	{ "pool-remove", cmd_pool_remove, "pool-remove DEVICE|UUID [--force]",
	  "take a device without VDs out of the pool (wipes its label)" },
	{ "pool-relink", cmd_pool_relink, "pool-relink DEVICE",
	  "adopt DEVICE as the moved pool device whose label it carries" },
	{ "create", cmd_create, "create SIZE [--expire SECONDS] [--name NAME]",
	  "allocate a VD and print its id" },
	{ "list", cmd_list, "list [--all]", "list VDs with state, time left and attachments" },
	{ "show", cmd_show, "show ID|NAME", "show one VD and its extent map" },
	{ "refresh", cmd_refresh, "refresh ID|NAME --expire SECONDS",
	  "renew a VD's lease (0: never expires)" },
	{ "resize", cmd_resize, "resize ID|NAME SIZE [--force]",
	  "grow a VD (shrinking needs --force and no attachment)" },
	{ "delete", cmd_delete, "delete ID|NAME [--force]",
	  "expire a VD now; gc reclaims its extents" },
	{ "gc", cmd_gc, "gc", "reclaim expired VDs and zero free extents ahead of time" },
	{ "map", cmd_map, "map ID|NAME [--read-only]", "the VD as /dev/mapper/vd-<id> in dom0" },
	{ "unmap", cmd_unmap, "unmap ID|NAME", "undo map (the dm device goes with the last user)" },
	{ "import", cmd_import, "import ID|NAME IMAGE", "copy a raw image into a VD, with progress" },
	{ "attach", cmd_attach, "attach DOMAIN ID|NAME VDEV [r|rw]", "attach a VD to a running domain" },
	{ "detach", cmd_detach, "detach [--force] DOMAIN VDEV", "detach a VD from a domain" },
	{ "check", cmd_check, "check [--repair]",
	  "verify the database, every label, dm devices and attachments" },
	{ "lease-hold", cmd_lease_hold, "lease-hold [--daemon]",
	  "hold shared pools' active-VD leases while their dm devices exist (xenvd-leased)" },
};

const struct xlvd_command *xlvd_find_command(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

void xlvd_print_usage(FILE *f, const struct xlvd_command *cmd)
{
	fprintf(f, "Usage: xl-vd [--db PATH] [-v] [--json] %s\n\n%s.\n", cmd->usage, cmd->summary);
	fprintf(f, "\nCommon options: --db PATH (or $XENVD_DB), --json (machine-readable), "
		   "-v (verbose), -h/--help.\nSee xl-vd(1).\n");
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: xl-vd [--db PATH] [--conf FILE] [-v] [--json] COMMAND [ARGS]\n\n"
		   "Virtual disks for Xen guests, carved from a pool of block devices.\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'xl-vd COMMAND --help' describes one command; xl-vd(1) all of them.\n"
		   "In a guest config: disk = [ 'vdev=xvda,access=rw,script=block-vd,target=vd:ID' ]\n");
}

int xlvd_fail(int r)
{
	fprintf(stderr, "xl-vd: %s\n", vd_errmsg());
	(void)r;
	return 1;
}

int xlvd_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "xl-vd %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'xl-vd %s --help'.\n", cmd);
	return 1;
}

int xlvd_common_opt(struct xlvd_ctx *ctx, const char *cmd, int c)
{
	switch (c) {
	case 'D':
		ctx->db_path = optarg;
		return 0;
	case 'J':
		ctx->json = true;
		return 0;
	case 'v':
		ctx->verbose++;
		vd_log_set_level(ctx->verbose >= 2 ? VD_LOG_DEBUG : VD_LOG_INFO);
		return 0;
	case 'h':
		xlvd_print_usage(stdout, xlvd_find_command(cmd));
		return 1;
	default:
		fprintf(stderr, "Try 'xl-vd %s --help'.\n", cmd);
		return -1;
	}
}

int xlvd_getopt(struct xlvd_ctx *ctx, int argc, char **argv, const char *shortopts,
		const struct option *opts, int *ret_status)
{
	char optstring[32];
	int c, r;

	snprintf(optstring, sizeof(optstring), "%s" XLVD_COMMON_SHORTOPTS, shortopts);
	while ((c = getopt_long(argc, argv, optstring, opts, NULL)) != -1) {
		if (!strchr("DJvh?:", c))
			return c;
		r = xlvd_common_opt(ctx, argv[0], c);
		if (r != 0) {
			*ret_status = r > 0 ? 0 : 1;
			return 0;
		}
	}
	return 0;
}

int xlvd_flag_options(struct xlvd_ctx *ctx, int argc, char **argv, const char *name, char letter,
		      bool *ret_set, int min_args, int max_args, const char *what)
{
	const int val = letter ? letter : 'F';
	const struct option opts[] = {
		{ name ? name : "", no_argument, NULL, val }, XLVD_COMMON_LONGOPTS, {}
	};
	const char shortopts[2] = { letter, '\0' };
	int status = -1;

	while (xlvd_getopt(ctx, argc, argv, shortopts, name ? opts : opts + 1, &status) > 0)
		*ret_set = true;
	if (status < 0 && (argc - optind < min_args || argc - optind > max_args))
		status = xlvd_usage_error(argv[0], "%s", what);
	return status;
}

int xlvd_common_options(struct xlvd_ctx *ctx, int argc, char **argv, int min_args, int max_args,
			const char *what)
{
	return xlvd_flag_options(ctx, argc, argv, NULL, 0, NULL, min_args, max_args, what);
}

int xlvd_open_db(struct xlvd_ctx *ctx, bool create, struct vd_db **ret)
{
	const char *path = ctx->db_path ? ctx->db_path : ctx->cfg.db_path;
	int r;

	if (!ctx->db) {
		r = vd_db_open(path, create ? VD_DB_CREATE : 0, &ctx->db);
		if (r < 0)
			return xlvd_fail(r), r;
		vd_debug("database %s", path);
	}
	*ret = ctx->db;
	return 0;
}

static bool progress_shown;

void xlvd_progress(uint64_t done, uint64_t total, void *label)
{
	char a[32], b[32];
	int width = 30, filled;

	if (!isatty(STDERR_FILENO) || total == 0)
		return;
	if (done > total)
		done = total;
	filled = (int)(done * (uint64_t)width / total);
	fprintf(stderr, "\r%s [%.*s%*s] %3d%% %s/%s ", label ? (const char *)label : "",
		filled, "##############################", width - filled, "",
		(int)(done * 100 / total), vd_format_size(done, a, sizeof(a)),
		vd_format_size(total, b, sizeof(b)));
	fflush(stderr);
	progress_shown = true;
}

void xlvd_progress_end(void)
{
	if (progress_shown)
		fputc('\n', stderr);
	progress_shown = false;
}

void xlvd_json_string(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

void xlvd_json_key(const char *key, bool *first)
{
	if (!*first)
		putchar(',');
	*first = false;
	xlvd_json_string(key);
	putchar(':');
}

const char *xlvd_format_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!localtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, len, "%lld", (long long)t);
	return buf;
}

static void log_sink(enum vd_log_level level, const char *msg, void *userdata)
{
	(void)userdata;
	fprintf(stderr, "xl-vd: %s%s\n", level <= VD_LOG_WARN ? "warning: " : "", msg);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'D' },
		{ "conf", required_argument, NULL, 'C' },
		{ "json", no_argument, NULL, 'J' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct xlvd_ctx ctx = { 0 };
	const struct xlvd_command *cmd;
	const char *conf = NULL;
	int c, r, status;

	vd_log_set_sink(log_sink, NULL);
	/* Global options stop at the command name. */
	while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
		switch (c) {
		case 'D':
			ctx.db_path = optarg;
			break;
		case 'C':
			conf = optarg;
			break;
		case 'J':
			ctx.json = true;
			break;
		case 'v':
			ctx.verbose++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 1;
	}
	if (ctx.verbose)
		vd_log_set_level(ctx.verbose >= 2 ? VD_LOG_DEBUG : VD_LOG_INFO);
	cmd = xlvd_find_command(argv[optind]);
	if (!cmd) {
		fprintf(stderr, "xl-vd: unknown command '%s'; 'xl-vd --help' lists them\n",
			argv[optind]);
		return 1;
	}
	/* The library reads the configuration itself where it needs to (a shared pool's
	 * host_id): the same file. */
	if (conf && setenv("XENVD_CONF", conf, 1) < 0)
		return xlvd_fail(-errno);
	r = vd_config_load(conf, &ctx.cfg);
	if (r < 0)
		return xlvd_fail(r);

	argc -= optind;
	argv += optind;
	optind = 0; /* glibc: reinitialise getopt for the subcommand */
	status = cmd->run(&ctx, argc, argv);

	vd_db_print_io_stats(ctx.db, stderr);
	vd_db_close(ctx.db);
	vd_config_dispose(&ctx.cfg);
	return status;
}
