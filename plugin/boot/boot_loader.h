/* One vdloader run, short of its command line and what it prints: the disk (or a VD read
 * straight from its pool) opened as root, the kernel and ramdisk files made in the output
 * directory, the sandboxed reader run (boot_find.c inside sandbox.c), its reply checked against
 * the files it wrote, and the result rendered for libxl. The program parses options, installs
 * signal handlers and writes the output where it belongs.
 */
#ifndef XENVD_BOOT_LOADER_H
#define XENVD_BOOT_LOADER_H

#include <signal.h>

#include "boot/boot_output.h"
#include "pool/run.h"

/* Where --vd=ID's runs come from (boot_vd.h: the pool). An ops table rather than a call, so
 * that a vdloader built without the pool's database and lock code links none of it. */
struct vd_boot_vd_source {
	/* the VD's runs, in VD order, each device's fd open read-only */
	int (*runs)(const char *db_path, const char *id, struct vd_run **ret_runs,
		    size_t *ret_n_runs);
	void (*runs_free)(struct vd_run *runs, size_t n_runs);
};

struct vd_boot_loader_opts {
	const char *disk;	/* an image or block device; NULL with vd */
	const char *vd;		/* --vd=ID: the VD read from its pool devices */
	const struct vd_boot_vd_source *vd_source; /* with vd: &vd_boot_vd_pool (boot_vd.h) */
	const char *config;	/* xenvd.conf (size caps, boot_timeout); NULL: the default */
	const char *output_dir; /* where the kernel and ramdisk go; NULL: /var/run/xen/vdloader */
	const char *runas;	/* the reader's user; NULL: nobody */
	const char *kernel, *ramdisk, *args, *entry, *root; /* see vd_boot_request */
	enum vd_boot_format format;
	bool list;	   /* the entries as text, nothing copied */
	bool dryrun;	   /* the result with guest paths, nothing copied */
	bool unprivileged; /* tests only: no namespaces, chroot or uid change */
};

/* The files a run makes, for the program's signal handler to remove (libxl sends SIGTERM when
 * the domain dies mid-boot). Initialise dir_fd to -1. */
struct vd_boot_loader_files {
	int dir_fd;
	char kernel_name[64], ramdisk_name[64];
	volatile sig_atomic_t kernel_made, ramdisk_made;
};

struct vd_boot_loader_result {
	char *output;	   /* the rendered result, or with list the listing */
	size_t output_len;
	char *source;	   /* what boots, safe to print; NULL with list */
};

/* On success the files stay until vd_boot_loader_files_done(); on failure they are gone.
 * Errors carry a message (vd_errmsg). */
int vd_boot_loader_run(const struct vd_boot_loader_opts *o, struct vd_boot_loader_files *files,
		       struct vd_boot_loader_result *ret);
/* Async-signal-safe: unlinks the files made so far. */
void vd_boot_loader_remove_files(struct vd_boot_loader_files *files);
/* After the result was written (keep: libxl owns the files now) or could not be. */
void vd_boot_loader_files_done(struct vd_boot_loader_files *files, bool keep);
void vd_boot_loader_result_dispose(struct vd_boot_loader_result *r);

#endif
