#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "attach/check.h"
#include "attach/dm.h"
#include "pool/db.h"

struct report {
	FILE *f;
	char *buf;
	size_t len;
	unsigned problems;
};

_printf_(2, 3) static void problem(struct report *rep, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(rep->f, fmt, ap);
	va_end(ap);
	fputc('\n', rep->f);
	rep->problems++;
}

static bool attachment_of(const struct vd_attachment *list, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (list[i].vd_id == id)
			return true;
	return false;
}

static const struct vd_attachment *attachment_at(const struct vd_attachment *list, size_t n,
						  const char *be)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i].backend_path, be) == 0)
			return &list[i];
	return NULL;
}

static void check_dm_devices(struct vd_db *db, const struct vd_attach_ops *ops,
			     const struct vd_attachment *att, size_t natt, bool repair,
			     struct report *rep)
{
	struct vd_dm_info *devs = NULL;
	size_t ndevs = 0;
	uint8_t pool[16], theirs[16];
	int r;

	vd_db_pool_uuid(db, pool);
	r = ops->dm->list(VD_DM_UUID_PREFIX, &devs, &ndevs);
	if (r < 0) {
		problem(rep, "cannot list dm devices: %s", vd_errmsg());
		return;
	}
	for (size_t i = 0; i < ndevs; i++) {
		const struct vd_dm_info *d = &devs[i];
		uint32_t id;

		if (vd_dm_uuid_parse(d->uuid, theirs, &id) < 0)
			continue;
		if (memcmp(theirs, pool, 16) != 0)
			continue; /* another pool's (another database on this host) */
		if (attachment_of(att, natt, id))
			continue;
		if (!repair) {
			problem(rep, "dm device %s (%u:%u) of VD %" PRIu32 " has no attachment "
				     "(leaked; open count %d); 'xl-vd check --repair' removes it",
				d->name, d->major, d->minor, id, d->open_count);
			continue;
		}
		if (d->open_count > 0) {
			_cleanup_free_ char *users = NULL;

			(void)vd_dm_describe_users(d->major, d->minor, &users);
			problem(rep, "dm device %s (%u:%u) of VD %" PRIu32 " has no attachment but "
				     "is open: %s; not removed",
				d->name, d->major, d->minor, id, users ? users : "?");
			continue;
		}
		r = ops->dm->remove(d->name, VD_DM_REMOVE_RETRY);
		if (r < 0)
			problem(rep,
				"dm device %s of VD %" PRIu32 " has no attachment; removing it "
				"failed: %s",
				d->name, id, vd_errmsg());
		else
			fprintf(rep->f, "repaired: removed leaked dm device %s of VD %" PRIu32 "\n",
				d->name, id);
	}
	free(devs);
}

/* An attachment is stale when what it records is gone: its xenstore backend (the domain died,
 * or dom0 crashed and xenstore started empty), or, for an `xl-vd map` attachment, its dm device
 * (dom0 restarted). Stale attachments are one problem each, and --repair drops them; an
 * attachment whose backend is alive but whose dm device is missing is left for a person. */
static void check_attachments_live(struct vd_db *db, const struct vd_attach_ops *ops,
				   struct vd_xs *xs, const struct vd_attachment *att, size_t natt,
				   bool repair, struct report *rep)
{
	for (size_t i = 0; i < natt; i++) {
		const struct vd_attachment *a = &att[i];
		_cleanup_free_ char *params_path = NULL, *params = NULL;
		bool mapped = a->backend_path[0] != '/';
		char name[VD_DM_NAME_MAX];
		struct vd_dm_info info;
		bool orphan, gone = false;
		uint32_t id;

		vd_dm_name(a->vd_id, name);
		orphan = ops->dm->info(name, &info) == 0 && !info.exists;
		if (mapped) {
			gone = orphan;
		} else if (xs && asprintf(&params_path, "%s/params", a->backend_path) >= 0) {
			if (vd_xs_read(xs, params_path, &params) == -ENOENT)
				gone = true;
			else if (params && (vd_parse_target(params, &id) < 0 || id != a->vd_id))
				problem(rep, "attachment %s says VD %" PRIu32 " but the backend's "
					     "params are '%s'",
					a->backend_path, a->vd_id, params);
		}
		if (!gone) {
			if (orphan)
				problem(rep,
					"attachment %s of VD %" PRIu32 " (domain %" PRIu32 ") has no "
					"dm device %s (orphan)",
					a->backend_path, a->vd_id, a->domid, name);
			continue;
		}
		if (!repair) {
			problem(rep, "attachment %s of VD %" PRIu32 " (domain %" PRIu32 ") has no "
				     "%s any more (stale); 'xl-vd check --repair' drops it",
				a->backend_path, a->vd_id, a->domid,
				mapped ? "dm device" : "xenstore backend");
			continue;
		}
		if (vd_attach_forget(db, a->backend_path) < 0)
			problem(rep, "stale attachment %s of VD %" PRIu32 ": cannot drop it: %s",
				a->backend_path, a->vd_id, vd_errmsg());
		else
			fprintf(rep->f, "repaired: dropped stale attachment %s of VD %" PRIu32 "\n",
				a->backend_path, a->vd_id);
	}
}

/* Other hosts' attachments (a shared pool): those of a host sanlock declares dead are stale (the
 * host was reset before sanlock said so, its dm devices are gone), and --repair drops them. A
 * host that is live, failing or of unknown state may still write: its rows stay, whatever
 * this host thinks. */
static void check_dead_hosts(struct vd_db *db, const struct vd_host_ops *hosts, bool repair,
			     struct report *rep)
{
	struct vd_attachment *all = NULL;
	size_t n = 0;
	uint32_t checked = 0;
	bool dead = false;
	int r;

	if (vd_db_host_id(db) == 0 || !hosts)
		return;
	r = vd_db_attachment_list_all(db, 0, &all, &n);
	if (r < 0) {
		problem(rep, "cannot list the attachments of other hosts: %s", vd_errmsg());
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct vd_attachment *a = &all[i];
		_cleanup_txn_ struct vd_db *txn = NULL;

		if (a->host_id == vd_db_host_id(db))
			continue;
		if (a->host_id != checked) {
			checked = a->host_id;
			r = vd_sharing_host_dead(hosts, db, a->host_id, &dead);
			if (r < 0) {
				problem(rep, "cannot tell whether host %" PRIu32 " is dead: %s",
					a->host_id, vd_errmsg());
				dead = false;
			}
		}
		if (!dead)
			continue;
		if (!repair) {
			problem(rep, "attachment %s of VD %" PRIu32 " (domain %" PRIu32 ") on host "
				     "%" PRIu32 " is stale: sanlock declares host %" PRIu32 " dead; "
				     "'xl-vd check --repair' drops it",
				a->backend_path, a->vd_id, a->domid, a->host_id, a->host_id);
			continue;
		}
		r = vd_db_txn_begin(db, &txn);
		if (r == 0)
			r = vd_db_attachment_remove_host(db, a->host_id, a->backend_path);
		if (r == 0 || r == -ENOENT)
			r = vd_db_commit(TAKE_PTR(txn));
		if (r < 0)
			problem(rep, "stale attachment %s of VD %" PRIu32 " on dead host %" PRIu32
				     ": cannot drop it: %s",
				a->backend_path, a->vd_id, a->host_id, vd_errmsg());
		else
			fprintf(rep->f, "repaired: dropped stale attachment %s of VD %" PRIu32
					" on dead host %" PRIu32 "\n",
				a->backend_path, a->vd_id, a->host_id);
	}
	vd_db_attachment_list_free(all, n);
}

static void check_backends_recorded(struct vd_xs *xs, const struct vd_attachment *att,
				    size_t natt, struct report *rep)
{
	char **be = NULL;
	size_t nbe = 0;

	if (vd_xs_list_vbd_backends(xs, &be, &nbe) < 0) {
		problem(rep, "cannot list vbd backends in xenstore: %s", vd_errmsg());
		return;
	}
	for (size_t i = 0; i < nbe; i++) {
		struct vd_xs_backend b;
		uint32_t id;

		vd_xs_backend_init(&b);
		if (attachment_at(att, natt, be[i]))
			continue;
		if (vd_xs_read_backend(xs, be[i], &b) < 0)
			continue;
		if (vd_parse_target(b.params, &id) == 0 && b.physical_device)
			problem(rep,
				"backend %s (domain %" PRId64 ") uses %s through %s but has no "
				"attachment record",
				be[i], b.frontend_id, b.params, b.physical_device);
		vd_xs_backend_dispose(&b);
	}
	vd_xs_strv_free(be, nbe);
}

int vd_check_runtime_with(struct vd_db *db, const struct vd_attach_ops *ops, struct vd_xs *xs,
			  bool repair, char **ret_report, unsigned *ret_problems)
{
	struct report rep = { 0 };
	struct vd_attachment *att = NULL;
	size_t natt = 0;
	int r;

	rep.f = open_memstream(&rep.buf, &rep.len);
	if (!rep.f)
		return -ENOMEM;
	r = vd_db_attachment_list(db, 0, &att, &natt);
	if (r < 0) {
		fclose(rep.f);
		free(rep.buf);
		return r;
	}
	/* Attachments first: dropping stale ones may turn their dm device into a leak that the
	 * dm pass then removes in the same run. */
	check_attachments_live(db, ops, xs, att, natt, repair, &rep);
	if (repair) {
		vd_db_attachment_list_free(att, natt);
		att = NULL;
		natt = 0;
		r = vd_db_attachment_list(db, 0, &att, &natt);
		if (r < 0) {
			fclose(rep.f);
			free(rep.buf);
			return r;
		}
	}
	check_dm_devices(db, ops, att, natt, repair, &rep);
	/* A shared pool whose last dm device here was a leak just removed: the holder lets go
	 * of its active-VD lease now rather than at its next look. */
	if (repair && vd_db_lease_area(db) && ops->lease) {
		uint8_t pool[16];
		bool released = false;

		vd_db_pool_uuid(db, pool);
		if (ops->lease->release_if_idle(vd_db_lease_area(db), pool, ops->dm, &released) < 0)
			vd_err_clear(); /* the holder releases it within seconds anyway */
	}
	if (xs)
		check_backends_recorded(xs, att, natt, &rep);
	vd_db_attachment_list_free(att, natt);
	if (fclose(rep.f) != 0) {
		free(rep.buf);
		return -ENOMEM;
	}
	if (rep.len == 0) {
		free(rep.buf);
		rep.buf = NULL;
	}
	*ret_report = rep.buf;
	*ret_problems = rep.problems;
	return 0;
}

int vd_check_hosts_with(struct vd_db *db, const struct vd_host_ops *hosts, bool repair,
			char **ret_report, unsigned *ret_problems)
{
	struct report rep = { 0 };

	rep.f = open_memstream(&rep.buf, &rep.len);
	if (!rep.f)
		return -ENOMEM;
	check_dead_hosts(db, hosts, repair, &rep);
	if (fclose(rep.f) != 0) {
		free(rep.buf);
		return -ENOMEM;
	}
	if (rep.len == 0) {
		free(rep.buf);
		rep.buf = NULL;
	}
	*ret_report = rep.buf;
	*ret_problems = rep.problems;
	return 0;
}

int vd_check_hosts(struct vd_db *db, bool repair, char **ret_report, unsigned *ret_problems)
{
	return vd_check_hosts_with(db, &vd_host_sanlock_ops, repair, ret_report, ret_problems);
}

int vd_check_runtime(struct vd_db *db, bool repair, char **ret_report, unsigned *ret_problems)
{
	_cleanup_xs_ struct vd_xs *xs = NULL;

	/* Without xenstored (not a Xen dom0, or xenstored down) only dm is compared. */
	if (vd_xs_open(NULL, &xs) < 0) {
		vd_err_clear();
		xs = NULL;
	}
	return vd_check_runtime_with(db, &vd_attach_real_ops, xs, repair, ret_report,
				     ret_problems);
}

