/* xl-vd format, pool-list, pool-remove, pool-relink. */
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pool/mdarea.h"
#include "pool/pool.h"
#include "pool/sanlock.h"
#include "xl-vd.h"

int cmd_format(struct xlvd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "extent-size", required_argument, NULL, 'e' },
		{ "force", no_argument, NULL, 'f' },
		{ "no-scrub", no_argument, NULL, 'n' },
		{ "pool-database", no_argument, NULL, 'P' },
		{ "file-database", no_argument, NULL, 'F' },
		{ "max-extents", required_argument, NULL, 'M' },
		{ "shared", no_argument, NULL, 'S' },
		XLVD_COMMON_LONGOPTS,
		{}
	};
	const char *db_path = ctx->db_path ? ctx->db_path : ctx->cfg.db_path;
	const char *storage = ctx->cfg.db_storage;
	struct vd_format_opts fo = { 0 };
	struct stat st;
	struct vd_pool_device dev = { 0 };
	struct vd_db *db;
	char uuid[37], a[32], b[32];
	bool shared = false, onpool;
	int c, r, status = -1;

	while ((c = xlvd_getopt(ctx, argc, argv, "e:f", opts, &status)) > 0) {
		switch (c) {
		case 'e':
			if (vd_parse_size(optarg, &fo.extent_size) < 0)
				return xlvd_usage_error("format", "invalid extent size '%s': "
							VD_SIZE_SYNTAX, optarg);
			break;
		case 'f':
			fo.force = true;
			break;
		case 'n':
			fo.no_scrub = true;
			break;
		case 'P':
			storage = "pool";
			break;
		case 'F':
			storage = "file";
			break;
		case 'S':
			shared = true;
			break;
		case 'M':
			if (vd_parse_size(optarg, &fo.max_extents) < 0 || fo.max_extents == 0)
				return xlvd_usage_error("format", "invalid --max-extents '%s'",
							optarg);
			break;
		}
	}
	if (status >= 0)
		return status;
	if (optind + 1 != argc)
		return xlvd_usage_error("format", "expected one DEVICE");
	if (!fo.no_scrub && !ctx->cfg.scrub)
		fo.no_scrub = true;
	/* A new pool: its database goes on its first device, or in the file at db_path. */
	onpool = !ctx->db && access(db_path, F_OK) < 0 && errno == ENOENT &&
		 (!strcmp(storage, "pool") ||
		  (!strcmp(storage, "auto") && stat(argv[optind], &st) == 0 && S_ISBLK(st.st_mode)));
	if (shared && !onpool) {
		if (access(db_path, F_OK) == 0)
			return xlvd_usage_error("format", "--shared makes a new pool, and this dom0 "
						"has one (%s); 'xl-vd pool-share' shares it", db_path);
		return xlvd_usage_error("format", "--shared needs the pool's database on the pool "
					"(a block device, or --pool-database): a pool whose database "
					"is a file cannot be shared");
	}
	if (shared) {
		/* Refused before anything is written when sanlock cannot write the leases. */
		r = vd_sanlock_daemon_check();
		if (r < 0)
			return xlvd_fail(r);
	}
	if (onpool) {
		r = vd_pool_format_onpool(db_path, argv[optind], &fo, &ctx->db, &dev);
		if (r < 0)
			return xlvd_fail(r);
		if (shared) {
			int64_t id = dev.id;

			if (xlvd_share_new_pool(ctx, ctx->db) < 0)
				return 1;
			/* The lease area took the device's last extents. */
			vd_pool_device_dispose(&dev);
			r = vd_db_device_get(ctx->db, id, &dev);
			if (r < 0)
				return xlvd_fail(r);
		}
	} else {
		if (xlvd_open_db(ctx, true, &db) < 0)
			return 1;
		r = vd_pool_format(db, argv[optind], &fo, &dev);
		if (r < 0)
			return xlvd_fail(r);
	}
	vd_uuid_unparse(dev.uuid, uuid);
	if (ctx->json) {
		printf("{\"uuid\":\"%s\",\"path\":", uuid);
		xlvd_json_string(dev.path);
		printf(",\"size\":%" PRIu64 ",\"extent_size\":%" PRIu64 ",\"extents\":%" PRIu64
		       ",\"scrub\":%s}\n", dev.size, dev.extent_size, dev.extent_count,
		       dev.scrub ? "true" : "false");
	} else {
		printf("Formatted %s as pool device %s: %" PRIu64 " extents of %s (%s)%s\n",
		       dev.path, uuid, dev.extent_count, vd_format_size(dev.extent_size, a, sizeof(a)),
		       vd_format_size(dev.extent_count * dev.extent_size, b, sizeof(b)),
		       dev.scrub ? "" : ", reused extents NOT zeroed (--no-scrub)");
	}
	vd_pool_device_dispose(&dev);
	return 0;
}

int cmd_pool_list(struct xlvd_ctx *ctx, int argc, char **argv)
{
	struct vd_md_lease lease;
	char lsize[32];
	struct vd_pool_device *list = NULL;
	struct vd_db *db;
	size_t n = 0;
	int r;

	r = xlvd_common_options(ctx, argc, argv, 0, 0, "takes no arguments");
	if (r >= 0)
		return r;
	if (xlvd_open_db(ctx, false, &db) < 0)
		return 1;
	r = vd_db_device_list(db, &list, &n);
	if (r == 0)
		r = vd_db_device_count_free(db, list, n);
	if (r < 0)
		return xlvd_fail(r);
	if (ctx->json)
		putchar('[');
	else
		printf("%-36s %8s %8s %8s %9s %5s  %s\n", "UUID", "Size", "Extent", "Free",
		       "Extents", "Scrub", "Path");
	for (size_t i = 0; i < n; i++) {
		char uuid[37], a[32], b[32], f[32];

		vd_uuid_unparse(list[i].uuid, uuid);
		if (ctx->json) {
			printf("%s{\"uuid\":\"%s\",\"path\":", i ? "," : "", uuid);
			xlvd_json_string(list[i].path);
			printf(",\"size\":%" PRIu64 ",\"extent_size\":%" PRIu64
			       ",\"extents\":%" PRIu64 ",\"free_extents\":%" PRIu64
			       ",\"scrub\":%s,\"identity\":", list[i].size, list[i].extent_size,
			       list[i].extent_count, list[i].free_extents,
			       list[i].scrub ? "true" : "false");
			if (list[i].identity)
				xlvd_json_string(list[i].identity);
			else
				fputs("null", stdout);
			putchar('}');
			continue;
		}
		printf("%-36s %8s %8s %8s %9" PRIu64 " %5s  %s\n", uuid,
		       vd_format_size(list[i].extent_count * list[i].extent_size, a, sizeof(a)),
		       vd_format_size(list[i].extent_size, b, sizeof(b)),
		       vd_format_size(list[i].free_extents * list[i].extent_size, f, sizeof(f)),
		       list[i].extent_count, list[i].scrub ? "yes" : "no", list[i].path);
	}
	if (ctx->json)
		puts("]");
	else if (vd_db_storage(db))
		printf("Database: on the pool's metadata area, %s (located by %s)\n",
		       vd_db_storage(db), vd_db_path(db));
	else
		printf("Database: %s\n", vd_db_path(db));
	if (!ctx->json && vd_db_lease(db, &lease)) {
		char dev[37];

		vd_uuid_unparse(lease.device_uuid, dev);
		printf("Shared: sanlock lease area on device %s at %" PRIu64 " (%s, %u-byte "
		       "sectors); 'xl-vd host-list' shows the hosts\n", dev, lease.offset,
		       vd_format_size(lease.size, lsize, sizeof(lsize)), lease.sector_size);
	}
	vd_db_device_list_free(list, n);
	return 0;
}

int cmd_pool_remove(struct xlvd_ctx *ctx, int argc, char **argv)
{
	bool force = false;
	struct vd_db *db;
	int r;

	r = xlvd_flag_options(ctx, argc, argv, "force", 'f', &force, 1, 1,
			      "expected one DEVICE or UUID");
	if (r >= 0)
		return r;
	if (xlvd_open_db(ctx, false, &db) < 0)
		return 1;
	r = vd_pool_remove(db, argv[optind], force);
	if (r < 0)
		return xlvd_fail(r);
	if (!ctx->json)
		printf("Removed %s from the pool\n", argv[optind]);
	return 0;
}

int cmd_pool_import(struct xlvd_ctx *ctx, int argc, char **argv)
{
	const char *db_path = ctx->db_path ? ctx->db_path : ctx->cfg.db_path;
	struct vd_vdisk *vds = NULL;
	struct vd_attachment *att = NULL;
	size_t nvd = 0, natt = 0;
	uint8_t pool[16];
	char uuid[37];
	int r;

	r = xlvd_common_options(ctx, argc, argv, 1, 64, "expected one or more DEVICEs");
	if (r >= 0)
		return r;
	r = vd_pool_import(db_path, argv + optind, (size_t)(argc - optind), &ctx->db);
	if (r < 0)
		return xlvd_fail(r);
	r = vd_db_vdisk_list(ctx->db, false, &vds, &nvd);
	if (r == 0)
		r = vd_db_attachment_list_all(ctx->db, 0, &att, &natt);
	if (r < 0)
		return xlvd_fail(r);
	vd_db_pool_uuid(ctx->db, pool);
	vd_uuid_unparse(pool, uuid);
	if (ctx->json)
		printf("{\"pool\":\"%s\",\"vdisks\":%zu,\"attachments\":%zu,\"database\":",
		       uuid, nvd, natt);
	else
		printf("Imported pool %s: %zu VD(s), %zu attachment(s); database on %s\n", uuid,
		       nvd, natt, vd_db_storage(ctx->db));
	if (ctx->json) {
		xlvd_json_string(vd_db_storage(ctx->db));
		puts("}");
	}
	vd_db_vdisk_list_free(vds, nvd);
	vd_db_attachment_list_free(att, natt);
	return 0;
}

int cmd_db_to_pool(struct xlvd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "max-extents", required_argument, NULL, 'M' },
		XLVD_COMMON_LONGOPTS,
		{}
	};
	uint64_t max_extents = 0;
	struct vd_db *db, *moved = NULL;
	int c, r, status = -1;

	while ((c = xlvd_getopt(ctx, argc, argv, "", opts, &status)) > 0) {
		if (c == 'M' &&
		    (vd_parse_size(optarg, &max_extents) < 0 || max_extents == 0))
			return xlvd_usage_error("db-to-pool", "invalid --max-extents '%s'", optarg);
	}
	if (status >= 0)
		return status;
	if (optind + 1 < argc)
		return xlvd_usage_error("db-to-pool", "expected at most one DEVICE");
	if (xlvd_open_db(ctx, false, &db) < 0)
		return 1;
	r = vd_pool_move_db(db, optind < argc ? argv[optind] : NULL, max_extents, &moved);
	if (r < 0)
		return xlvd_fail(r);
	vd_db_close(ctx->db);
	ctx->db = moved;
	if (!ctx->json)
		printf("The pool's database is now on the pool: %s (located by %s; the old file is "
		       "kept as %s.pre-pool)\n", vd_db_storage(moved), vd_db_path(moved),
		       vd_db_path(moved));
	return 0;
}

int cmd_pool_relink(struct xlvd_ctx *ctx, int argc, char **argv)
{
	struct vd_pool_device dev = { 0 };
	struct vd_db *db;
	char uuid[37];
	int r;

	r = xlvd_common_options(ctx, argc, argv, 1, 1, "expected one DEVICE");
	if (r >= 0)
		return r;
	if (xlvd_open_db(ctx, false, &db) < 0)
		return 1;
	r = vd_pool_relink(db, argv[optind], &dev);
	if (r < 0)
		return xlvd_fail(r);
	vd_uuid_unparse(dev.uuid, uuid);
	if (ctx->json) {
		printf("{\"uuid\":\"%s\",\"path\":", uuid);
		xlvd_json_string(dev.path);
		printf(",\"identity\":");
		if (dev.identity)
			xlvd_json_string(dev.identity);
		else
			printf("null");
		puts("}");
	} else {
		printf("Adopted %s as pool device %s (identity %s): its VDs map there from now on\n",
		       dev.path, uuid, dev.identity ? dev.identity : "none");
	}
	vd_pool_device_dispose(&dev);
	return 0;
}
