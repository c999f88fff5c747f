#include <inttypes.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"
#include "attach/hotplug.h"
#include "attach/sharing.h"
#include "pool/db.h"

static int parse_devid(const char *be, int64_t *ret)
{
	const char *slash = strrchr(be, '/');
	uint32_t devid;

	if (!slash || vd_parse_u32(slash + 1, &devid) < 0)
		return -EINVAL;
	*ret = devid;
	return 0;
}

int vd_hotplug_parse_params(const char *params, uint32_t *ret_id)
{
	if (!params)
		return vd_err(-EINVAL,
			      "the backend has no 'params' node: libxl did not pass a target");
	if (vd_parse_target(params, ret_id) < 0)
		return vd_err(-EINVAL,
			      "target '%s' is not vd:<id>; write the disk as "
			      "'vdev=xvda,access=rw,script=block-vd,target=vd:<id>' (target= last)",
			      params);
	return 0;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Length of the UUID ("8-4-4-4-12" hex) or 32-hex-digit run (a DM UUID's pool part) at p. */
static size_t uuid_at(const char *p)
{
	static const int groups[] = { 8, 4, 4, 4, 12 };
	size_t n = 0;

	for (size_t g = 0; g < ARRAY_SIZE(groups); g++) {
		for (int i = 0; i < groups[g]; i++, n++)
			if (!is_hex(p[n]))
				goto run;
		if (g + 1 < ARRAY_SIZE(groups) && p[n++] != '-')
			goto run;
	}
	return n;
run:
	for (n = 0; is_hex(p[n]); n++)
		;
	return n >= 32 ? n : 0;
}

/* "domain 9", "dom 9", "domid 9", "domains 9": the number's offset and length at p. */
static size_t domid_at(const char *p, size_t *ret_digits_at)
{
	static const char *const words[] = { "domains ", "domain ", "domid ", "dom " };

	for (size_t i = 0; i < ARRAY_SIZE(words); i++) {
		size_t w = strlen(words[i]), d = 0;

		if (strncmp(p, words[i], w) != 0)
			continue;
		while (p[w + d] >= '0' && p[w + d] <= '9')
			d++;
		if (d) {
			*ret_digits_at = w;
			return w + d;
		}
	}
	return 0;
}

void vd_hotplug_guest_message(const char *msg, int64_t own_domid, char *buf, size_t len)
{
	size_t o = 0;

#define PUT(str, n)                                                                                \
	do {                                                                                       \
		size_t n_ = (n);                                                                   \
		if (o + n_ >= len)                                                                 \
			n_ = o + 1 < len ? len - o - 1 : 0;                                        \
		memcpy(buf + o, (str), n_);                                                        \
		o += n_;                                                                           \
	} while (0)

	if (!len)
		return;
	for (const char *p = msg; *p;) {
		bool word_start = p == msg || !((p[-1] >= 'a' && p[-1] <= 'z') ||
						(p[-1] >= 'A' && p[-1] <= 'Z') || is_hex(p[-1]));
		size_t n, digits_at;

		if (*p == '/' && word_start) {
			/* a dom0 path (file, device, mount point, xenstore node) */
			n = strcspn(p, " \t\n,;)('\"");
			while (n > 1 && (p[n - 1] == '.' || p[n - 1] == ':'))
				n--;
			PUT("<dom0 path>", 11);
			p += n;
		} else if (word_start && (n = uuid_at(p)) > 0) {
			PUT("<uuid>", 6);
			p += n;
		} else if (word_start && (n = domid_at(p, &digits_at)) > 0) {
			long long id = strtoll(p + digits_at, NULL, 10);

			if (id == own_domid)
				PUT(p, n);
			else
				PUT("another domain", 14);
			p += n;
		} else {
			PUT(p, 1);
			p++;
		}
	}
	buf[o] = '\0';
#undef PUT
}

int vd_hotplug_write_error(struct vd_xs *xs, const char *be, int64_t own_domid, bool busy,
			   const char *msg)
{
	char safe[1024], full[1400], stamp[32];
	time_t now = time(NULL);
	struct tm tm;

	vd_hotplug_guest_message(msg, own_domid, safe, sizeof(safe));
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	/* What the administrator acts on, and where the whole story is: the names of other
	 * tenants, dom0 paths and UUIDs stay in dom0's log, as the frontend can read this. */
	snprintf(full, sizeof(full), "%s (details: the block-vd[%d] line at %s in dom0's hotplug "
				     "log, hotplug_log in xenvd.conf or else syslog)",
		 safe, (int)getpid(), stamp);
	return busy ? vd_xs_write_busy(xs, be, full) : vd_xs_write_error(xs, be, full);
}

static int fail_add(struct vd_attacher *h, const char *be, int r)
{
	const char *msg = vd_errmsg();
	int w;

	vd_log(VD_LOG_ERR, "add failed: %s", msg);
	if (h->xs && be) {
		/* in use elsewhere: hotplug-status=busy, as the stock scripts' ebusy writes */
		w = vd_hotplug_write_error(h->xs, be, h->domid, r == -EBUSY, msg);
		if (w < 0)
			vd_log_errno(VD_LOG_ERR, w, "cannot write hotplug-error to %s: %m", be);
	}
	return r;
}

/* The absolute backend path block-vd `command` was run for. */
static int backend_path(struct vd_attacher *h, const char *command, const char *xenbus_path,
			char **ret)
{
	if (!h->xs)
		return vd_err(-ENOTCONN, "block-vd %s needs xenstore", command);
	if (!xenbus_path || !*xenbus_path)
		return vd_err(-EINVAL, "XENBUS_PATH is not set: block-vd is run by libxl");
	return vd_xs_absolute(h->xs, xenbus_path, ret);
}

int vd_hotplug_add(struct vd_attacher *h, const char *xenbus_path)
{
	_cleanup_free_ char *be = NULL;
	struct vd_xs_backend b;
	struct vd_attach_run run = { .h = h, .lock_fd = -1 };
	struct vd_attachment existing = { 0 };
	struct vd_xs_domain frontend;
	char path[64], mode;
	int r;

	vd_xs_backend_init(&b);
	r = backend_path(h, "add", xenbus_path, &be);
	if (r < 0)
		return r;
	if (parse_devid(be, &h->devid) < 0)
		return fail_add(h, be, vd_err(-EINVAL, "XENBUS_PATH %s does not end in a device "
						       "id", xenbus_path));

	r = vd_xs_read_backend(h->xs, be, &b);
	if (r < 0)
		return fail_add(h, be, r);
	h->domid = b.frontend_id;
	vd_attach_mark(h, "xs-read");
	r = vd_hotplug_parse_params(b.params, &run.vd_id);
	if (r < 0)
		goto fail;
	h->vd_id = run.vd_id;
	if (!b.mode || vd_sharing_mode(b.mode, &mode) < 0) {
		r = vd_err(-EINVAL, "the backend %s has no valid 'mode' node", be);
		goto fail;
	}
	if (b.frontend_id < 0 || b.frontend_id > UINT16_MAX) {
		r = vd_err(-EINVAL, "the backend %s has no valid 'frontend-id' node", be);
		goto fail;
	}

	/* Already done (libxl retried, or we are run twice): the stock script exits 0 too. */
	if (b.physical_device && vd_db_attachment_get(h->db, be, &existing) == 0) {
		bool same = existing.vd_id == run.vd_id;

		vd_attachment_dispose(&existing);
		if (same) {
			vd_info("already attached (physical-device %s)", b.physical_device);
			vd_xs_backend_dispose(&b);
			return 0;
		}
	}

	/* Its VM: a domain of the same VM (migration, save/restore) is no other user. */
	r = vd_xs_read_domain(h->xs, (uint32_t)b.frontend_id, &frontend);
	if (r < 0)
		goto fail;
	run.frontend = &frontend;
	run.backend_path = be;
	run.domid = (uint32_t)b.frontend_id;
	run.devid = (uint32_t)h->devid;
	run.vdev = b.vdev;
	run.mode = mode;
	run.mode_str = vd_sharing_mode_string(mode);

	r = vd_attach(&run);
	if (r < 0)
		goto fail;
	/* The database's part is done (checked and recorded under one hold of a shared pool's
	 * metadata lease): the lease goes before the xenstore writes. */
	(void)vd_db_idle(h->db);
	r = vd_xs_write_connected(h->xs, be, run.dev, vd_dm_path(run.name, path, sizeof(path)));
	if (r < 0) {
		vd_attach_undo(&run);
		goto fail;
	}
	vd_attach_mark(h, "xs-write");
	vd_info("attached %s as %s (%u:%u) for domain %" PRId64 ", mode %s", b.params, path,
		major(run.dev), minor(run.dev), b.frontend_id, run.mode_str);
	vd_attach_run_done(&run);
	vd_xs_backend_dispose(&b);
	return 0;
fail:
	vd_attach_run_done(&run);
	vd_xs_backend_dispose(&b);
	return fail_add(h, be, r);
}

int vd_hotplug_remove(struct vd_attacher *h, const char *xenbus_path)
{
	_cleanup_free_ char *be = NULL;
	struct vd_xs_backend b;
	struct vd_attachment a = { 0 };
	uint32_t id = 0;
	int r;

	vd_xs_backend_init(&b);
	r = backend_path(h, "remove", xenbus_path, &be);
	if (r < 0)
		return r;
	(void)parse_devid(be, &h->devid);
	/* The backend may be half-written or half-gone: read what is there. */
	if (vd_xs_read_backend(h->xs, be, &b) == 0)
		h->domid = b.frontend_id;
	vd_attach_mark(h, "xs-read");

	r = vd_db_attachment_get(h->db, be, &a);
	if (r == 0) {
		id = a.vd_id;
		h->domid = a.domid;
		vd_attachment_dispose(&a);
	} else if (r == -ENOENT) {
		/* No attachment: an add that failed or was killed before recording one. Its dm
		 * device (if it got that far) goes unless another attachment uses it. */
		if (vd_parse_target(b.params, &id) < 0) {
			vd_info("nothing to remove: no attachment and no vd: target");
			vd_xs_backend_dispose(&b);
			return 0;
		}
	} else {
		vd_xs_backend_dispose(&b);
		return r;
	}
	vd_xs_backend_dispose(&b);
	h->vd_id = id;

	r = vd_detach(h, id, be);
	if (r < 0) {
		vd_log(VD_LOG_ERR, "remove: %s", vd_errmsg());
		return r;
	}
	vd_info("detached");
	return 0;
}

