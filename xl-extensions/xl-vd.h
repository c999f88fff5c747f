/* xl-vd: shared pieces of the command's subcommand files (context, output helpers). Programs
 * stay thin: argument parsing and output here, all logic in libxenvd.
 */
#ifndef XLVD_H
#define XLVD_H

#include <getopt.h>

#include "base/config.h"
#include "pool/db.h"
#include "base/error.h"
#include "base/util.h"
#include "pool/vdisk.h"

struct xlvd_ctx {
	struct vd_config cfg;
	const char *db_path; /* --db, else $XENVD_DB, else the configuration */
	bool json;
	int verbose;
	struct vd_db *db;    /* opened on demand by xlvd_open_db */
};

struct xlvd_command {
	const char *name;
	int (*run)(struct xlvd_ctx *ctx, int argc, char **argv);
	const char *usage; /* "create SIZE [--expire SECONDS] [--name NAME]" */
	const char *summary;
};

/* Options every subcommand takes besides its own: --db PATH, --json, -v, -h/--help. Put
 * XLVD_COMMON_LONGOPTS in the subcommand's option table and loop with xlvd_getopt (or call
 * xlvd_common_options when it has no options of its own). */
#define XLVD_COMMON_LONGOPTS                                                                       \
	{ "db", required_argument, NULL, 'D' }, { "json", no_argument, NULL, 'J' },                 \
		{ "verbose", no_argument, NULL, 'v' }, { "help", no_argument, NULL, 'h' }
#define XLVD_COMMON_SHORTOPTS "vh"
/* 0: handled, go on; 1: help printed, exit 0; -1: a usage error was printed, exit 1. */
int xlvd_common_opt(struct xlvd_ctx *ctx, const char *cmd, int c);
/* The option loop of a subcommand (argv[0] is its name): getopt_long over shortopts (its own
 * letters; the common ones are added) and opts, handling the common options itself. Returns each
 * of the subcommand's own options; 0 at the end. When the command must end (help printed: 0, a
 * usage error: 1) it returns 0 with *ret_status set; otherwise *ret_status is left alone (-1). */
int xlvd_getopt(struct xlvd_ctx *ctx, int argc, char **argv, const char *shortopts,
		const struct option *opts, int *ret_status);
/* For a subcommand without options of its own: the common options, then min_args..max_args
 * arguments (else the usage error what, e.g. "takes no arguments"). -1 to go on, else the exit
 * status. */
int xlvd_common_options(struct xlvd_ctx *ctx, int argc, char **argv, int min_args, int max_args,
			const char *what);
/* As xlvd_common_options, for a subcommand whose one option of its own is the flag --name (and
 * -letter unless letter is 0), which sets *ret_set. */
int xlvd_flag_options(struct xlvd_ctx *ctx, int argc, char **argv, const char *name, char letter,
		      bool *ret_set, int min_args, int max_args, const char *what);

/* Opens the database (creating it only when create). Prints the error and returns -errno. */
int xlvd_open_db(struct xlvd_ctx *ctx, bool create, struct vd_db **ret);

/* "xl-vd: <message>" on stderr; returns 1 (the exit status). */
int xlvd_fail(int r);
int xlvd_usage_error(const char *cmd, const char *fmt, ...) _printf_(2, 3);
const struct xlvd_command *xlvd_find_command(const char *name);
void xlvd_print_usage(FILE *f, const struct xlvd_command *cmd);

/* A progress bar on stderr when it is a terminal, nothing otherwise. */
void xlvd_progress(uint64_t done, uint64_t total, void *label);
void xlvd_progress_end(void);

/* JSON output helpers (stdout). */
void xlvd_json_string(const char *s);
void xlvd_json_key(const char *key, bool *first);

const char *xlvd_format_time(int64_t t, char *buf, size_t len);

/* Subcommands, one file per group. */
int cmd_format(struct xlvd_ctx *ctx, int argc, char **argv);
int cmd_lease_hold(struct xlvd_ctx *ctx, int argc, char **argv);
/* Starts this host's lease holder (xl-vd lease-hold) unless it runs: through systemd's
 * xenvd-leased.service when systemd runs, else as a daemon; waits until it is registered. */
int xlvd_start_holder(void);
/* Asks it to stop (it does only when it holds no lease). */
void xlvd_stop_holder(void);
int cmd_pool_list(struct xlvd_ctx *ctx, int argc, char **argv);
int cmd_pool_remove(struct xlvd_ctx *ctx, int argc, char **argv);
int cmd_pool_import(struct xlvd_ctx *ctx, int argc, char **argv);
int cmd_db_to_pool(struct xlvd_ctx *ctx, int argc, char **argv);
int cmd_pool_relink(struct xlvd_ctx *ctx, int argc, char **argv);
int cmd_create(struct xlvd_ctx *ctx, int argc, char **argv);
int cmd_list(struct xlvd_ctx *ctx, int argc, char **argv);
int cmd_show(struct xlvd_ctx *ctx, int argc, char **argv);
int cmd_refresh(struct xlvd_ctx *ctx, int argc, char **argv);
int cmd_resize(struct xlvd_ctx *ctx, int argc, char **argv);
int cmd_delete(struct xlvd_ctx *ctx, int argc, char **argv);
int cmd_gc(struct xlvd_ctx *ctx, int argc, char **argv);
int cmd_check(struct xlvd_ctx *ctx, int argc, char **argv);
int cmd_pool_share(struct xlvd_ctx *ctx, int argc, char **argv);
int cmd_lockspace_start(struct xlvd_ctx *ctx, int argc, char **argv);
int cmd_lockspace_stop(struct xlvd_ctx *ctx, int argc, char **argv);
int cmd_host_list(struct xlvd_ctx *ctx, int argc, char **argv);
/* pool-share's work, for format --shared too: prints the error and returns -errno. */
int xlvd_share_new_pool(struct xlvd_ctx *ctx, struct vd_db *db);

#endif
