/* xl-vd gc, check. */
#include <inttypes.h>
#include <string.h>

#include "attach/check.h"
#include "attach/hotplug.h"
#include "pool/pool.h"
#include "xl-vd.h"

int cmd_gc(struct xlvd_ctx *ctx, int argc, char **argv)
{
	struct vd_vdisk_gc_result res = { 0 };
	struct vd_db *db;
	int r;

	r = xlvd_common_options(ctx, argc, argv, 0, 0, "takes no arguments");
	if (r >= 0)
		return r;
	if (xlvd_open_db(ctx, false, &db) < 0)
		return 1;
	r = vd_vdisk_gc(db, xlvd_progress, "zeroing free extents", &res);
	xlvd_progress_end();
	if (r < 0)
		return xlvd_fail(r);
	if (ctx->json) {
		printf("{\"reclaimed_vdisks\":%u,\"reclaimed_extents\":%" PRIu64
		       ",\"scrubbed_extents\":%" PRIu64 ",\"unscrubbed_extents\":%" PRIu64 "}\n",
		       res.reclaimed_vdisks, res.reclaimed_extents, res.scrubbed_extents,
		       res.unscrubbed_extents);
	} else {
		printf("Reclaimed %u expired VD(s) (%" PRIu64 " extents)", res.reclaimed_vdisks,
		       res.reclaimed_extents);
		if (res.scrubbed_extents || !res.unscrubbed_extents)
			printf("; zeroed %" PRIu64 " free extent(s)", res.scrubbed_extents);
		if (res.unscrubbed_extents)
			printf("; %" PRIu64 " free extent(s) of --no-scrub devices made reusable "
			       "WITHOUT zeroing", res.unscrubbed_extents);
		putchar('\n');
	}
	return 0;
}

int cmd_check(struct xlvd_ctx *ctx, int argc, char **argv)
{
	_cleanup_free_ char *report = NULL, *runtime = NULL, *repaired = NULL;
	unsigned problems = 0, runtime_problems = 0;
	bool repair = false, have_dm;
	struct vd_db *db;
	int r;

	r = xlvd_flag_options(ctx, argc, argv, "repair", 0, &repair, 0, 0,
			      "takes no arguments");
	if (r >= 0)
		return r;
	if (xlvd_open_db(ctx, false, &db) < 0)
		return 1;
	if (repair) {
		_cleanup_free_ char *where = NULL;

		r = vd_db_repair_area_copy(db, &where);
		if (r < 0)
			return xlvd_fail(r);
		if (r > 0 && !ctx->json)
			printf("Made the pool database's copy on %s again from %s\n", where,
			       vd_db_storage(db));
	}
	/* A pool device missing at its path that one disk carries the label of is adopted only
	 * here or by pool-relink; the report says so. */
	unsigned relinked = 0;

	r = repair ? vd_pool_repair_links(db, &repaired, &relinked) : 0;
	if (r == 0)
		r = vd_db_check(db, &report, &problems);
	if (r == 0)
		r = vd_pool_check_labels(db, &report, &problems);
	if (r < 0)
		return xlvd_fail(r);
	/* A shared pool: other hosts' attachments, stale once sanlock declares their host dead. */
	if (vd_db_host_id(db) != 0) {
		_cleanup_free_ char *hosts = NULL;
		unsigned host_problems = 0;

		r = vd_check_hosts(db, repair, &hosts, &host_problems);
		if (r < 0)
			return xlvd_fail(r);
		if (hosts) {
			size_t len = report ? strlen(report) : 0;
			char *grown = realloc(report, len + strlen(hosts) + 1);

			if (!grown)
				return xlvd_fail(-ENOMEM);
			report = grown;
			strcpy(report + len, hosts);
		}
		problems += host_problems;
	}
	/* dm devices with our UUID prefix vs attachments vs xenstore backends: leaks, orphans. */
	have_dm = access("/sys/class/misc/device-mapper", F_OK) == 0; /* dm loaded */
	if (have_dm) {
		r = vd_check_runtime(db, repair, &runtime, &runtime_problems);
		if (r < 0)
			return xlvd_fail(r);
		if (runtime) {
			size_t len = report ? strlen(report) : 0;
			char *grown = realloc(report, len + strlen(runtime) + 1);

			if (!grown)
				return xlvd_fail(-ENOMEM);
			report = grown;
			strcpy(report + len, runtime);
		}
		problems += runtime_problems;
	} else if (!ctx->json) {
		printf("(no device-mapper in this kernel: dm devices and xenstore backends not "
		       "compared)\n");
	}
	if (ctx->json) {
		printf("{\"problems\":%u,\"relinked\":%u,\"repaired\":", problems, relinked);
		xlvd_json_string(repaired ? repaired : "");
		printf(",\"report\":");
		xlvd_json_string(report ? report : "");
		puts("}");
	} else {
		/* what --repair did comes first: after a dom0 crash it is the whole story */
		if (repaired)
			fputs(repaired, stdout);
		if (report)
			fputs(report, stdout);
		if (problems)
			printf("%u problem(s) found in %s\n", problems, vd_db_path(db));
		else if (relinked || report)
			printf("%s: consistent after repair\n", vd_db_path(db));
		else
			printf("%s: consistent (every extent has one owner or is free; labels "
			       "match)\n",
			       vd_db_path(db));
	}
	return problems ? 2 : 0;
}
