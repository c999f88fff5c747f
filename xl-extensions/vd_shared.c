/* xl-vd pool-share, lockspace-start, lockspace-stop, host-list: a pool shared by the hosts of a
 * SAN (xl-vd(1) "Shared pools"). */
#include <inttypes.h>
#include <string.h>

#include "pool/pool.h"
#include "pool/shared.h"
#include "xl-vd.h"

static const char *db_path_of(struct xlvd_ctx *ctx)
{
	return ctx->db_path ? ctx->db_path : ctx->cfg.db_path;
}

int cmd_pool_share(struct xlvd_ctx *ctx, int argc, char **argv)
{
	struct vd_db *db;
	uint8_t uuid[16];
	char text[37];
	int r;

	r = xlvd_common_options(ctx, argc, argv, 0, 0, "takes no arguments");
	if (r >= 0)
		return r;
	if (xlvd_open_db(ctx, false, &db) < 0)
		return 1;
	r = xlvd_share_new_pool(ctx, db);
	if (r < 0)
		return 1;
	vd_db_pool_uuid(db, uuid);
	vd_uuid_unparse(uuid, text);
	if (ctx->json)
		printf("{\"uuid\":\"%s\",\"shared\":true}\n", text);
	else
		printf("Pool %s is shared; on each host set host_id in xenvd.conf and run "
		       "'xl-vd lockspace-start'\n", text);
	return 0;
}

int xlvd_share_new_pool(struct xlvd_ctx *ctx, struct vd_db *db)
{
	int r = vd_pool_share(db, (uint32_t)ctx->cfg.lockspace_io_timeout);

	return r < 0 ? xlvd_fail(r), r : 0;
}

int cmd_lockspace_start(struct xlvd_ctx *ctx, int argc, char **argv)
{
	bool no_wait = false;
	int r;

	r = xlvd_flag_options(ctx, argc, argv, "no-wait", 0, &no_wait, 0, 0,
			      "takes no arguments");
	if (r >= 0)
		return r;
	r = vd_shared_join(db_path_of(ctx), ctx->cfg.host_id,
			   (uint32_t)ctx->cfg.lockspace_io_timeout, !no_wait);
	if (r < 0)
		return xlvd_fail(r);
	/* This host's active-VD lease holder (xl-vd lease-hold): without it no VD of the pool
	 * may be attached here. */
	r = xlvd_start_holder();
	if (r < 0)
		return xlvd_fail(r);
	if (!ctx->json)
		printf("Host %d %s the lockspace of the pool\n", ctx->cfg.host_id,
		       no_wait ? "is joining" : "has joined");
	return 0;
}

int cmd_lockspace_stop(struct xlvd_ctx *ctx, int argc, char **argv)
{
	int r;

	r = xlvd_common_options(ctx, argc, argv, 0, 0, "takes no arguments");
	if (r >= 0)
		return r;
	r = vd_shared_leave(db_path_of(ctx), ctx->cfg.host_id);
	if (r < 0)
		return xlvd_fail(r);
	/* Nothing attached here any more: the holder may go (it stays while it holds another
	 * pool's active-VD lease; 'xl-vd lockspace-start' starts it again). */
	xlvd_stop_holder();
	if (!ctx->json)
		printf("This host has left the lockspace of the pool\n");
	return 0;
}

int cmd_host_list(struct xlvd_ctx *ctx, int argc, char **argv)
{
	_cleanup_free_ struct vd_shared_host *hosts = NULL;
	size_t n = 0;
	int r;

	r = xlvd_common_options(ctx, argc, argv, 0, 0, "takes no arguments");
	if (r >= 0)
		return r;
	r = vd_shared_check_host_id(ctx->cfg.host_id);
	if (r == 0)
		r = vd_shared_hosts(db_path_of(ctx), ctx->cfg.host_id, &hosts, &n);
	if (r < 0)
		return xlvd_fail(r);
	if (ctx->json)
		putchar('[');
	else
		printf("%-6s %-8s %10s %8s\n", "HOST", "STATE", "GENERATION", "ATTACHED");
	for (size_t i = 0; i < n; i++) {
		const struct vd_shared_host *h = &hosts[i];
		char id[24], att[24];

		if (ctx->json) {
			printf("%s{\"host_id\":%" PRIu64 ",\"state\":\"%s\",\"generation\":%" PRIu64
			       ",\"this_host\":%s,\"attached\":",
			       i ? "," : "", h->h.host_id, vd_sanlock_host_state_name(h->h.state),
			       h->h.generation, h->this_host ? "true" : "false");
			if (h->attached >= 0)
				printf("%" PRId64 "}", h->attached);
			else
				fputs("null}", stdout);
			continue;
		}
		snprintf(id, sizeof(id), "%" PRIu64 "%s", h->h.host_id, h->this_host ? "*" : "");
		if (h->attached >= 0)
			snprintf(att, sizeof(att), "%" PRId64, h->attached);
		else
			snprintf(att, sizeof(att), "-");
		printf("%-6s %-8s %10" PRIu64 " %8s\n", id, vd_sanlock_host_state_name(h->h.state),
		       h->h.generation, att);
	}
	if (ctx->json)
		puts("]");
	return 0;
}
