/* xl-vd map, unmap, import, attach, detach. Argument parsing and output only: the work is
 * vd_attach_map/unmap and vd_import_image (plugin/attach/attach.c, plugin/pool/import.c) and libxl's own disk add/remove,
 * which runs block-vd exactly as `xl block-attach` does. */
#include <fcntl.h>
#include <inttypes.h>
#include <libxl.h>
#include <libxl_utils.h>
#include <string.h>
#include <xentoollog.h>

#include "attach/hotplug.h"
#include "pool/import.h"
#include "vd_dm.h"
#include "attach/xs.h"

static int lookup_id(struct xlvd_ctx *ctx, const char *which, uint32_t *ret_id)
{
	struct vd_vdisk v = { 0 };
	struct vd_db *db;
	int r;

	if (xlvd_open_db(ctx, false, &db) < 0)
		return -1;
	r = vd_vdisk_lookup(db, which, &v);
	if (r < 0)
		return xlvd_fail(r), r;
	*ret_id = v.id;
	vd_vdisk_dispose(&v);
	return 0;
}

/* map/unmap run in dom0 with or without xenstored: without it, the sharing check sees only
 * our attachments and dom0's mounts. */
static void hotplug_for(struct xlvd_ctx *ctx, struct vd_attacher *h, struct vd_xs **xs)
{
	if (vd_xs_open(NULL, xs) < 0) {
		vd_debug("no xenstore (%s): sharing is checked against xenvd and dom0 only",
			 vd_errmsg());
		vd_err_clear();
		*xs = NULL;
	}
	vd_attacher_init(h, ctx->db, *xs);
	h->sharing_level = ctx->cfg.sharing_level;
}

int cmd_map(struct xlvd_ctx *ctx, int argc, char **argv)
{
	_cleanup_xs_ struct vd_xs *xs = NULL;
	struct vd_attacher h;
	bool read_only = false;
	const char *mode;
	char path[64];
	uint32_t id;
	int r;

	r = xlvd_flag_options(ctx, argc, argv, "read-only", 'r', &read_only, 1, 1,
			      "expected one VD id or name");
	if (r >= 0)
		return r;
	if (lookup_id(ctx, argv[optind], &id) < 0)
		return 1;
	hotplug_for(ctx, &h, &xs);
	mode = read_only ? "r" : "w";
	r = vd_attach_map(&h, id, mode, path, sizeof(path));
	if (r < 0)
		return xlvd_fail(r);
	if (ctx->json) {
		printf("{\"vd\":%" PRIu32 ",\"path\":", id);
		xlvd_json_string(path);
		printf(",\"mode\":\"%s\"}\n", mode);
	} else {
		printf("%s\n", path);
	}
	return 0;
}

int cmd_unmap(struct xlvd_ctx *ctx, int argc, char **argv)
{
	_cleanup_xs_ struct vd_xs *xs = NULL;
	struct vd_attacher h;
	uint32_t id;
	int r;

	r = xlvd_common_options(ctx, argc, argv, 1, 1, "expected one VD id or name");
	if (r >= 0)
		return r;
	if (lookup_id(ctx, argv[optind], &id) < 0)
		return 1;
	hotplug_for(ctx, &h, &xs);
	r = vd_attach_unmap(&h, id);
	if (r < 0)
		return xlvd_fail(r);
	if (ctx->json)
		printf("{\"vd\":%" PRIu32 ",\"unmapped\":true}\n", id);
	return 0;
}

int cmd_import(struct xlvd_ctx *ctx, int argc, char **argv)
{
	_cleanup_close_ int fd = -EBADF;
	char label[32];
	uint32_t id;
	int r;

	r = xlvd_common_options(ctx, argc, argv, 2, 2, "expected a VD id or name and an image file");
	if (r >= 0)
		return r;
	if (lookup_id(ctx, argv[optind], &id) < 0)
		return 1;
	fd = open(argv[optind + 1], O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return xlvd_fail(vd_err(-errno, "cannot open image %s: %m", argv[optind + 1]));
	snprintf(label, sizeof(label), "vd:%" PRIu32, id);
	r = vd_import_image(ctx->db, id, fd, xlvd_progress, label);
	xlvd_progress_end();
	if (r < 0)
		return xlvd_fail(r);
	if (ctx->json)
		printf("{\"vd\":%" PRIu32 ",\"imported\":true}\n", id);
	else
		printf("imported %s into VD %" PRIu32 "\n", argv[optind + 1], id);
	return 0;
}

/* ---- libxl ---- */

struct xl {
	xentoollog_logger_stdiostream *log;
	libxl_ctx *ctx;
};

static int xl_open(struct xlvd_ctx *ctx, struct xl *xl)
{
	xl->log = xtl_createlogger_stdiostream(stderr, ctx->verbose ? XTL_DEBUG : XTL_ERROR, 0);
	if (!xl->log)
		return vd_err(-ENOMEM, "cannot create a libxl logger");
	if (libxl_ctx_alloc(&xl->ctx, LIBXL_VERSION, 0, (xentoollog_logger *)xl->log) != 0) {
		xtl_logger_destroy((xentoollog_logger *)xl->log);
		xl->log = NULL;
		return vd_err(-ENOTCONN, "cannot talk to libxl: run this as root in a Xen dom0");
	}
	return 0;
}

static void xl_close(struct xl *xl)
{
	if (xl->ctx)
		libxl_ctx_free(xl->ctx);
	if (xl->log)
		xtl_logger_destroy((xentoollog_logger *)xl->log);
}

static int domid_of(struct xl *xl, const char *dom, uint32_t *ret)
{
	if (libxl_domain_qualifier_to_domid(xl->ctx, dom, ret) != 0)
		return vd_err(-ESRCH, "no domain '%s' ('xl list' shows the domains)", dom);
	return 0;
}

int cmd_attach(struct xlvd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { XLVD_COMMON_LONGOPTS, {} };
	struct xl xl = { 0 };
	libxl_device_disk disk;
	char target[24];
	uint32_t id, domid;
	bool rw = true;
	int c, r;

	while ((c = getopt_long(argc, argv, XLVD_COMMON_SHORTOPTS, opts, NULL)) != -1)
		if ((r = xlvd_common_opt(ctx, "attach", c)) != 0)
			return r > 0 ? 0 : 1;
	if (argc - optind < 3 || argc - optind > 4)
		return xlvd_usage_error("attach", "expected DOMAIN VD VDEV [r|rw]");
	if (argc - optind == 4) {
		const char *m = argv[optind + 3];

		if (!strcmp(m, "r") || !strcmp(m, "ro"))
			rw = false;
		else if (strcmp(m, "rw") && strcmp(m, "w"))
			return xlvd_usage_error("attach", "mode must be r or rw, not '%s'", m);
	}
	if (lookup_id(ctx, argv[optind + 1], &id) < 0)
		return 1;
	/* The database is not needed any more: block-vd opens it itself, in libxl's child. */
	vd_db_close(ctx->db);
	ctx->db = NULL;

	r = xl_open(ctx, &xl);
	if (r < 0)
		return xlvd_fail(r);
	r = domid_of(&xl, argv[optind], &domid);
	if (r < 0) {
		xl_close(&xl);
		return xlvd_fail(r);
	}
	snprintf(target, sizeof(target), "vd:%" PRIu32, id);
	libxl_device_disk_init(&disk);
	disk.vdev = strdup(argv[optind + 2]);
	disk.pdev_path = strdup(target);
	disk.script = strdup("block-vd");
	disk.format = LIBXL_DISK_FORMAT_RAW;
	disk.readwrite = rw;
	if (!disk.vdev || !disk.pdev_path || !disk.script) {
		r = -ENOMEM;
	} else if (libxl_device_disk_add(xl.ctx, domid, &disk, NULL) != 0) {
		/* libxl logged its side; block-vd's reason is in the hotplug log */
		r = vd_err(-EIO, "attaching VD %" PRIu32 " to domain %s as %s failed; see "
				 "/var/log/xen/xen-hotplug.log for block-vd's reason, and run "
				 "'xl block-detach %s %s' if the disk is half there",
			   id, argv[optind], argv[optind + 2], argv[optind], argv[optind + 2]);
	}
	libxl_device_disk_dispose(&disk);
	xl_close(&xl);
	if (r < 0)
		return xlvd_fail(r);
	if (ctx->json)
		printf("{\"vd\":%" PRIu32 ",\"domid\":%" PRIu32
		       ",\"vdev\":\"%s\",\"mode\":\"%s\"}\n",
		       id, domid, argv[optind + 2], rw ? "w" : "r");
	return 0;
}

/* libxl's status as a word for a message ("TIMEDOUT"), or its number. */
static const char *libxl_rc_name(int rc, char *buf, size_t len)
{
	const char *name = libxl_error_to_string((libxl_error)rc);

	if (name)
		return name;
	snprintf(buf, len, "%d", rc);
	return buf;
}

/* Detaches vdev of domid, whose configuration says it is VD vd_id. The disk libxl removes is
 * the one it rebuilds from xenstore (libxl_vdev_to_device_disk, as `xl block-detach` does):
 * the stored configuration keeps "vd:" and script= but not the backend type that libxl chose
 * at attach time, and libxl cannot name the device without it. block-vd's remove then runs
 * from the backend's own script node. */
static int detach_disk(struct xl *xl, const char *dom, uint32_t domid, const char *vdev,
		       uint32_t vd_id, bool force)
{
	libxl_device_disk disk;
	char num[16];
	int rc, r = 0;

	libxl_device_disk_init(&disk);
	if (libxl_vdev_to_device_disk(xl->ctx, domid, vdev, &disk) != 0) {
		libxl_device_disk_dispose(&disk);
		return vd_err(-ENOENT,
			      "VD %" PRIu32 " is in the configuration of domain %s as %s, but "
			      "that disk has no backend in xenstore (detached already, or half "
			      "gone); 'xl block-list %s' shows its disks, 'xl-vd check' what is left",
			      vd_id, dom, vdev, dom);
	}
	rc = force ? libxl_device_disk_destroy(xl->ctx, domid, &disk, NULL)
		   : libxl_device_disk_safe_remove(xl->ctx, domid, &disk, NULL);
	if (rc == ERROR_TIMEDOUT && !force)
		r = vd_err(-EBUSY,
			   "domain %s did not release %s (VD %" PRIu32 ") within libxl's timeout: "
			   "the guest still uses it; unmount it there, or pass --force to pull it "
			   "away",
			   dom, vdev, vd_id);
	else if (rc != 0)
		r = vd_err(-EIO,
			   "libxl could not detach %s (VD %" PRIu32 ") from domain %s: %s (libxl's "
			   "own message is above; block-vd's is in /var/log/xen/xen-hotplug.log)",
			   vdev, vd_id, dom, libxl_rc_name(rc, num, sizeof(num)));
	libxl_device_disk_dispose(&disk);
	return r;
}

int cmd_detach(struct xlvd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		XLVD_COMMON_LONGOPTS,
		{}
	};
	struct xl xl = { 0 };
	libxl_domain_config cfg;
	bool force = false, found = false;
	uint32_t domid, vd_id;
	int c, r;

	while ((c = getopt_long(argc, argv, "f" XLVD_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		if (c == 'f')
			force = true;
		else if ((r = xlvd_common_opt(ctx, "detach", c)) != 0)
			return r > 0 ? 0 : 1;
	}
	if (argc - optind != 2)
		return xlvd_usage_error("detach", "expected DOMAIN VDEV");
	r = xl_open(ctx, &xl);
	if (r < 0)
		return xlvd_fail(r);
	r = domid_of(&xl, argv[optind], &domid);
	if (r < 0) {
		xl_close(&xl);
		return xlvd_fail(r);
	}
	/* Which disk is a VD: not libxl_device_disk_list / libxl_vdev_to_device_disk, which
	 * rebuild the disk from xenstore, where libxl 4.17 keeps neither the "vd:" target nor
	 * script=. The stored configuration keeps both. */
	libxl_domain_config_init(&cfg);
	if (libxl_retrieve_domain_configuration(xl.ctx, domid, &cfg, NULL) != 0) {
		r = vd_err(-EIO, "cannot read the configuration of domain %s from libxl",
			   argv[optind]);
	} else {
		r = -ENOENT;
		for (int i = 0; i < cfg.num_disks; i++) {
			libxl_device_disk *d = &cfg.disks[i];

			if (!d->vdev || strcmp(d->vdev, argv[optind + 1]) != 0)
				continue;
			found = true;
			if (vd_parse_target(d->pdev_path, &vd_id) < 0) {
				r = vd_err(-EINVAL,
					   "%s of domain %s is not a VD (target '%s'); use "
					   "'xl block-detach'",
					   d->vdev, argv[optind], d->pdev_path ? d->pdev_path : "");
				break;
			}
			r = detach_disk(&xl, argv[optind], domid, d->vdev, vd_id, force);
			break;
		}
		if (!found)
			r = vd_err(-ENOENT, "domain %s has no disk %s ('xl block-list %s' lists "
					    "its disks)",
				   argv[optind], argv[optind + 1], argv[optind]);
	}
	libxl_domain_config_dispose(&cfg);
	xl_close(&xl);
	if (r < 0)
		return xlvd_fail(r);
	if (ctx->json)
		printf("{\"domid\":%" PRIu32 ",\"vdev\":\"%s\",\"detached\":true}\n", domid,
		       argv[optind + 1]);
	return 0;
}
