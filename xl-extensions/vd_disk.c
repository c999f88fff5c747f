/* xl-vd create, list, show, refresh, resize, delete. */
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "attach/hotplug.h"
#include "xl-vd.h"

/* The id or name argument of a subcommand, looked up; prints the error itself. */
static int lookup(struct xlvd_ctx *ctx, const char *which, struct vd_vdisk *ret)
{
	struct vd_db *db;
	int r;

	if (xlvd_open_db(ctx, false, &db) < 0)
		return -1;
	r = vd_vdisk_lookup(db, which, ret);
	if (r < 0)
		return xlvd_fail(r), r;
	return 0;
}

static const char *time_left(const struct vd_vdisk *v, int64_t now, char *buf, size_t len)
{
	if (v->state == VD_DELETED)
		return "-";
	if (!v->expires)
		return "never";
	if (v->expires <= now)
		return "expired";
	return vd_format_duration(v->expires - now, buf, len);
}

static void print_vdisk_json(const struct vd_vdisk *v, int64_t now)
{
	bool first = true;

	putchar('{');
	xlvd_json_key("id", &first);
	printf("%u", v->id);
	xlvd_json_key("name", &first);
	if (v->name)
		xlvd_json_string(v->name);
	else
		printf("null");
	xlvd_json_key("size", &first);
	printf("%" PRIu64, v->size);
	xlvd_json_key("extents", &first);
	printf("%" PRIu64, v->extent_count);
	xlvd_json_key("state", &first);
	xlvd_json_string(vd_vdisk_state_name(vd_vdisk_effective_state(v, now)));
	xlvd_json_key("created", &first);
	printf("%" PRId64, v->created);
	xlvd_json_key("expires", &first);
	if (v->expires)
		printf("%" PRId64, v->expires);
	else
		printf("null");
	xlvd_json_key("seconds_left", &first);
	if (v->expires && v->state != VD_DELETED)
		printf("%" PRId64, v->expires > now ? v->expires - now : 0);
	else
		printf("null");
	xlvd_json_key("needs_scrub", &first);
	printf(v->needs_scrub ? "true" : "false");
	xlvd_json_key("attachments", &first);
	printf("%u", v->attachments);
	putchar('}');
}

int cmd_create(struct xlvd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "expire", required_argument, NULL, 'e' },
		{ "name", required_argument, NULL, 'n' },
		XLVD_COMMON_LONGOPTS,
		{}
	};
	struct vd_create_opts co = { 0 };
	struct vd_vdisk v = { 0 };
	struct vd_db *db;
	int c, r, status = -1;

	while ((c = xlvd_getopt(ctx, argc, argv, "e:n:", opts, &status)) > 0) {
		switch (c) {
		case 'e':
			if (vd_parse_seconds(optarg, &co.expire_seconds) < 0)
				return xlvd_usage_error("create", "invalid --expire '%s': seconds "
						       "(or 30m, 12h, 7d; 0 = never)", optarg);
			break;
		case 'n':
			co.name = optarg;
			break;
		}
	}
	if (status >= 0)
		return status;
	if (optind + 1 != argc)
		return xlvd_usage_error("create", "expected one SIZE (e.g. 20G)");
	r = vd_parse_size(argv[optind], &co.size);
	if (r < 0)
		return xlvd_usage_error("create", "invalid size '%s': " VD_SIZE_SYNTAX,
					argv[optind]);
	if (xlvd_open_db(ctx, false, &db) < 0)
		return 1;
	r = vd_vdisk_create(db, &co, xlvd_progress, "zeroing reused extents", &v);
	xlvd_progress_end();
	if (r < 0)
		return xlvd_fail(r);
	if (ctx->json) {
		print_vdisk_json(&v, vd_now());
		putchar('\n');
	} else {
		if (v.size != co.size) {
			char want[32], got[32];

			fprintf(stderr, "xl-vd: size %s rounded up to %s (whole extents)\n",
				vd_format_size(co.size, want, sizeof(want)),
				vd_format_size(v.size, got, sizeof(got)));
		}
		printf("%u\n", v.id);
	}
	vd_vdisk_dispose(&v);
	return 0;
}

int cmd_list(struct xlvd_ctx *ctx, int argc, char **argv)
{
	struct vd_vdisk *list = NULL;
	struct vd_attachment *att = NULL;
	size_t n = 0, natt = 0;
	bool all = false;
	struct vd_db *db;
	int64_t now = vd_now();
	int r;

	r = xlvd_flag_options(ctx, argc, argv, "all", 'a', &all, 0, 0,
			      "takes no arguments");
	if (r >= 0)
		return r;
	if (xlvd_open_db(ctx, false, &db) < 0)
		return 1;
	r = vd_db_vdisk_list(db, all, &list, &n);
	if (r == 0)
		r = vd_db_attachment_list_all(db, 0, &att, &natt);
	if (r < 0)
		return xlvd_fail(r);

	if (ctx->json) {
		putchar('[');
		for (size_t i = 0; i < n; i++) {
			if (i)
				putchar(',');
			print_vdisk_json(&list[i], now);
		}
		puts("]");
	} else {
		printf("%-6s %-20s %9s %-8s %-9s %s\n", "ID", "Name", "Size", "State", "Expires",
		       "Attached");
		for (size_t i = 0; i < n; i++) {
			char size[32], left[32], where[128] = "-";
			size_t used = 0;

			for (size_t k = 0; k < natt; k++) {
				if (att[k].vd_id != list[i].id || used >= sizeof(where) - 1)
					continue;
				/* a shared pool's: "h2:d5:xvda(w)" is domain 5 on host 2 */
				if (att[k].host_id)
					used += (size_t)snprintf(where + used, sizeof(where) - used,
								 "%sh%u:", used ? "," : "",
								 att[k].host_id);
				if (used >= sizeof(where) - 1)
					continue;
				bool first = used == 0 || where[used - 1] == ':';
				if (!strncmp(att[k].backend_path, "dom0-map:", 9))
					used += (size_t)snprintf(where + used, sizeof(where) - used,
								 "%sdom0:map(%s)", first ? "" : ",",
								 att[k].mode);
				else
					used += (size_t)snprintf(where + used, sizeof(where) - used,
								 "%sd%u:%s(%s)", first ? "" : ",",
								 att[k].domid,
								 att[k].vdev ? att[k].vdev : "?",
								 att[k].mode);
			}
			printf("%-6u %-20s %9s %-8s %-9s %s\n", list[i].id,
			       list[i].name ? list[i].name : "-",
			       vd_format_size(list[i].size, size, sizeof(size)),
			       vd_vdisk_state_name(vd_vdisk_effective_state(&list[i], now)),
			       time_left(&list[i], now, left, sizeof(left)), where);
		}
	}
	vd_db_vdisk_list_free(list, n);
	vd_db_attachment_list_free(att, natt);
	return 0;
}

int cmd_show(struct xlvd_ctx *ctx, int argc, char **argv)
{
	struct vd_vdisk v = { 0 };
	struct vd_run *segs = NULL;
	struct vd_attachment *att = NULL;
	size_t nsegs = 0, natt = 0;
	int64_t now = vd_now();
	char a[32], b[32], t[64];
	struct vd_db *db;
	int r;

	r = xlvd_common_options(ctx, argc, argv, 1, 1, "expected one VD id or name");
	if (r >= 0)
		return r;
	if (lookup(ctx, argv[optind], &v) < 0)
		return 1;
	db = ctx->db;
	if (v.state != VD_DELETED && !v.needs_scrub) {
		r = vd_vdisk_runs(db, v.id, -1, &segs, &nsegs);
		if (r < 0)
			return xlvd_fail(r);
	}
	r = vd_db_attachment_list_all(db, v.id, &att, &natt);
	if (r < 0)
		return xlvd_fail(r);

	if (ctx->json) {
		printf("{\"vd\":");
		print_vdisk_json(&v, now);
		printf(",\"map\":[");
		for (size_t i = 0; i < nsegs; i++) {
			char uuid[37];

			vd_uuid_unparse(segs[i].device_uuid, uuid);
			printf("%s{\"vd_offset\":%" PRIu64 ",\"length\":%" PRIu64
			       ",\"device\":\"%s\",\"path\":", i ? "," : "", segs[i].vd_offset,
			       segs[i].length, uuid);
			xlvd_json_string(segs[i].device_path);
			printf(",\"device_offset\":%" PRIu64 "}", segs[i].dev_offset);
		}
		printf("],\"attachments\":[");
		for (size_t i = 0; i < natt; i++) {
			printf("%s{\"host_id\":%u,\"domid\":%u,\"devid\":%u,\"vdev\":", i ? "," : "",
			       att[i].host_id, att[i].domid, att[i].devid);
			if (att[i].vdev)
				xlvd_json_string(att[i].vdev);
			else
				printf("null");
			printf(",\"mode\":");
			xlvd_json_string(att[i].mode);
			printf(",\"backend\":");
			xlvd_json_string(att[i].backend_path);
			printf(",\"dm_name\":");
			xlvd_json_string(att[i].dm_name);
			printf(",\"since\":%" PRId64 ",\"vm_uuid\":", att[i].since);
			if (att[i].vm_uuid)
				xlvd_json_string(att[i].vm_uuid);
			else
				printf("null");
			putchar('}');
		}
		puts("]}");
		goto out;
	}

	printf("id:          %u\n", v.id);
	printf("name:        %s\n", v.name ? v.name : "-");
	printf("size:        %s (%" PRIu64 " bytes, %" PRIu64 " extents)\n",
	       vd_format_size(v.size, a, sizeof(a)), v.size, v.extent_count);
	printf("state:       %s\n", vd_vdisk_state_name(vd_vdisk_effective_state(&v, now)));
	printf("created:     %s\n", xlvd_format_time(v.created, t, sizeof(t)));
	if (v.expires)
		printf("expires:     %s (%s)\n", xlvd_format_time(v.expires, t, sizeof(t)),
		       v.expires > now ? vd_format_duration(v.expires - now, b, sizeof(b))
				       : "expired");
	else
		printf("expires:     never\n");
	if (v.needs_scrub)
		printf("scrub:       pending (run 'xl-vd gc')\n");
	printf("attachments:%s\n", natt ? "" : " none");
	for (size_t i = 0; i < natt; i++) {
		char host[32] = "";

		/* a shared pool's attachments say which host they are on */
		if (att[i].host_id)
			snprintf(host, sizeof(host), "host %u%s ", att[i].host_id,
				 att[i].host_id == vd_db_host_id(db) ? " (this host)" : "");
		printf("  %sdomain %u %s (devid %u) mode %s via %s since %s%s%s\n", host,
		       att[i].domid, att[i].vdev ? att[i].vdev : "?", att[i].devid, att[i].mode,
		       att[i].dm_name, xlvd_format_time(att[i].since, t, sizeof(t)),
		       att[i].vm_uuid ? ", VM " : "", att[i].vm_uuid ? att[i].vm_uuid : "");
	}
	if (nsegs) {
		printf("extent map:\n  %14s %10s  %-36s %14s  %s\n", "vd offset", "length",
		       "pool device", "device offset", "path");
		for (size_t i = 0; i < nsegs; i++) {
			char uuid[37];

			vd_uuid_unparse(segs[i].device_uuid, uuid);
			printf("  %14" PRIu64 " %10s  %-36s %14" PRIu64 "  %s\n", segs[i].vd_offset,
			       vd_format_size(segs[i].length, a, sizeof(a)), uuid,
			       segs[i].dev_offset, segs[i].device_path);
		}
	}
out:
	vd_vdisk_runs_free(segs, nsegs);
	vd_db_attachment_list_free(att, natt);
	vd_vdisk_dispose(&v);
	return 0;
}

int cmd_refresh(struct xlvd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "expire", required_argument, NULL, 'e' },
		XLVD_COMMON_LONGOPTS,
		{}
	};
	struct vd_vdisk v = { 0 };
	int64_t seconds = -1;
	char t[64];
	int c, r, status = -1;

	while ((c = xlvd_getopt(ctx, argc, argv, "e:", opts, &status)) > 0) {
		if (c == 'e') {
			if (vd_parse_seconds(optarg, &seconds) < 0)
				return xlvd_usage_error("refresh", "invalid --expire '%s': seconds "
						       "(or 30m, 12h, 7d; 0 = never)", optarg);
		}
	}
	if (status >= 0)
		return status;
	if (optind + 1 != argc || seconds < 0)
		return xlvd_usage_error("refresh", "expected a VD and --expire SECONDS");
	if (lookup(ctx, argv[optind], &v) < 0)
		return 1;
	r = vd_vdisk_refresh(ctx->db, v.id, seconds);
	vd_vdisk_dispose(&v);
	if (r < 0)
		return xlvd_fail(r);
	r = vd_db_vdisk_get(ctx->db, v.id, &v);
	if (r < 0)
		return xlvd_fail(r);
	if (ctx->json) {
		print_vdisk_json(&v, vd_now());
		putchar('\n');
	} else if (v.expires) {
		printf("VD %u now expires at %s\n", v.id, xlvd_format_time(v.expires, t, sizeof(t)));
	} else {
		printf("VD %u now never expires\n", v.id);
	}
	vd_vdisk_dispose(&v);
	return 0;
}

int cmd_resize(struct xlvd_ctx *ctx, int argc, char **argv)
{
	struct vd_vdisk v = { 0 }, after = { 0 };
	bool force = false, reloaded = false;
	uint64_t size, old_size;
	char a[32];
	int r;

	r = xlvd_flag_options(ctx, argc, argv, "force", 'f', &force, 2, 2,
			      "expected a VD and a SIZE");
	if (r >= 0)
		return r;
	if (vd_parse_size(argv[optind + 1], &size) < 0)
		return xlvd_usage_error("resize", "invalid size '%s': " VD_SIZE_SYNTAX,
					argv[optind + 1]);
	if (lookup(ctx, argv[optind], &v) < 0)
		return 1;
	r = vd_vdisk_resize(ctx->db, v.id, size, force, xlvd_progress, "zeroing new extents",
			    &after);
	xlvd_progress_end();
	old_size = v.size;
	vd_vdisk_dispose(&v);
	if (r < 0)
		return xlvd_fail(r);
	/* Grown while attached: the live dm device takes the new table, blkback notices the
	 * new size and tells the guest (xen-blkfront resizes the disk online). */
	if (after.size > old_size && access("/sys/class/misc/device-mapper", F_OK) == 0) {
		struct vd_attacher h;

		vd_attacher_init(&h, ctx->db, NULL);
		r = vd_attach_grow_live(&h, after.id, &reloaded);
		if (r < 0) {
			vd_err_prefix(r, "VD %u grew to %s in the pool, but its live device "
					 "/dev/mapper/vd-%u keeps the old size (detach and attach it "
					 "again to use the new size)",
				      after.id, vd_format_size(after.size, a, sizeof(a)), after.id);
			vd_vdisk_dispose(&after);
			return xlvd_fail(r);
		}
	}
	if (ctx->json) {
		print_vdisk_json(&after, vd_now());
		putchar('\n');
	} else {
		printf("VD %u is now %s%s\n", after.id, vd_format_size(after.size, a, sizeof(a)),
		       reloaded ? " (live device reloaded: attached guests see the new size)" : "");
	}
	vd_vdisk_dispose(&after);
	return 0;
}

int cmd_delete(struct xlvd_ctx *ctx, int argc, char **argv)
{
	struct vd_vdisk v = { 0 };
	bool force = false;
	int r;

	r = xlvd_flag_options(ctx, argc, argv, "force", 'f', &force, 1, 1,
			      "expected one VD id or name");
	if (r >= 0)
		return r;
	if (lookup(ctx, argv[optind], &v) < 0)
		return 1;
	r = vd_vdisk_delete(ctx->db, v.id, force);
	if (r < 0) {
		vd_vdisk_dispose(&v);
		return xlvd_fail(r);
	}
	if (!ctx->json)
		printf("VD %u deleted (expired now); 'xl-vd gc' reclaims its extents\n", v.id);
	vd_vdisk_dispose(&v);
	return 0;
}
