#include <string.h>

#include "base/config.h"
#include "base/error.h"
#include "pool/db_vfs.h"
#include "pool/mdarea.h"
#include "pool/shared.h"

int vd_shared_area(const char *db_path, struct vd_sanlock_area *ret)
{
	if (!vd_locator_is(db_path))
		return vd_err(-EINVAL, "the pool's database is the file %s: a pool whose database "
				       "is a file cannot be shared; move it onto the pool with "
				       "'xl-vd db-to-pool', then run 'xl-vd pool-share'",
			      db_path);
	return vd_db_vfs_lease_area(db_path, ret);
}

int vd_shared_check_host_id(int host_id)
{
	if (host_id < 1 || host_id > VD_SANLOCK_MAX_HOST_ID)
		return vd_err(-ENOKEY, "this host has no host_id: set host_id (1-%d, a different "
				       "one on each host) in %s",
			      VD_SANLOCK_MAX_HOST_ID, vd_config_default_path());
	return 0;
}

int vd_shared_join(const char *db_path, int host_id, uint32_t io_timeout, bool wait)
{
	struct vd_sanlock_area sa;
	int r;

	r = vd_shared_check_host_id(host_id);
	if (r == 0)
		r = vd_shared_area(db_path, &sa);
	if (r < 0)
		return r;
	return vd_sanlock_join(&sa, (uint64_t)host_id, io_timeout, wait);
}

/* The attachments this host records for the pool, as "VD 3 (domain 5), ..." in names. */
static int local_attachments(const char *db_path, char *names, size_t len, size_t *ret_n)
{
	_cleanup_db_ struct vd_db *db = NULL;
	struct vd_attachment *list = NULL;
	size_t n = 0, used = 0;
	int r;

	r = vd_db_open(db_path, VD_DB_READONLY, &db);
	if (r < 0)
		return r;
	r = vd_db_attachment_list(db, 0, &list, &n);
	if (r < 0)
		return r;
	names[0] = '\0';
	for (size_t i = 0; i < n && used + 64 < len; i++)
		used += (size_t)snprintf(names + used, len - used, "%sVD %u (domain %u)",
					 i ? ", " : "", list[i].vd_id, list[i].domid);
	vd_db_attachment_list_free(list, n);
	*ret_n = n;
	return 0;
}

int vd_shared_leave(const char *db_path, int host_id)
{
	struct vd_sanlock_area sa;
	enum vd_sanlock_join_state st;
	uint64_t joined_as;
	char names[512];
	size_t n = 0;
	int r;

	(void)host_id; /* sanlock knows under which id this host is in: that one leaves */
	r = vd_shared_area(db_path, &sa);
	if (r == 0)
		r = vd_sanlock_joined_host_id(sa.lockspace, &joined_as, NULL);
	if (r < 0 || !joined_as)
		return r;
	r = vd_sanlock_join_state(&sa, joined_as, &st);
	if (r < 0)
		return r;
	if (st == VD_SANLOCK_JOINED) {
		r = local_attachments(db_path, names, sizeof(names), &n);
		if (r < 0)
			return r;
		if (n)
			return vd_err(-EBUSY, "this host still has %zu attachment(s) of pool %s: "
					      "%s; detach them (shut those guests down) before "
					      "'xl-vd lockspace-stop'",
				      n, sa.pool, names);
	}
	return vd_sanlock_leave(&sa, joined_as, true);
}

static int by_host_id(const void *a, const void *b)
{
	const struct vd_shared_host *x = a, *y = b;

	return x->h.host_id < y->h.host_id ? -1 : x->h.host_id > y->h.host_id;
}

int vd_shared_hosts(const char *db_path, int host_id, struct vd_shared_host **ret,
		    size_t *ret_n)
{
	_cleanup_free_ struct vd_sanlock_host *hosts = NULL;
	_cleanup_db_ struct vd_db *db = NULL;
	struct vd_attachment *att = NULL;
	struct vd_shared_host *out;
	struct vd_sanlock_area sa;
	size_t n = 0, natt = 0;
	int r;

	r = vd_shared_area(db_path, &sa);
	if (r == 0)
		r = vd_sanlock_hosts(&sa, &hosts, &n);
	if (r < 0)
		return r;
	/* Every host's attachments, as each recorded them under its host id. */
	r = vd_db_open(db_path, VD_DB_READONLY, &db);
	if (r == 0)
		r = vd_db_attachment_list_all(db, 0, &att, &natt);
	if (r < 0)
		return r;
	out = calloc(n ? n : 1, sizeof(*out));
	if (!out) {
		vd_db_attachment_list_free(att, natt);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		out[i].h = hosts[i];
		out[i].this_host = hosts[i].host_id == (uint64_t)host_id;
		for (size_t k = 0; k < natt; k++)
			out[i].attached += att[k].host_id == hosts[i].host_id;
	}
	vd_db_attachment_list_free(att, natt);
	if (n)
		qsort(out, n, sizeof(*out), by_host_id);
	*ret = out;
	*ret_n = n;
	return 0;
}
