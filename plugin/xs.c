#include <ctype.h>
#include <inttypes.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <xenstore.h>

#include "error.h"
#include "xs.h"

#define TXN_TRIES 64

struct vd_xs {
	const struct vd_xs_ops *ops;
	void *handle;
	char home[48]; /* "/local/domain/<our domid>" */
};

/* ---- libxenstore primitives ---- */

static int lx_open(void **ret)
{
	struct xs_handle *h = xs_open(0);

	if (!h)
		return errno > 0 ? -errno : -ENOTCONN;
	*ret = h;
	return 0;
}

static void lx_close(void *h)
{
	xs_close(h);
}

static int lx_read(void *h, vd_xs_txn t, const char *path, char **ret)
{
	unsigned len;
	char *v = xs_read(h, t, path, &len);

	if (!v)
		return errno > 0 ? -errno : -EIO;
	*ret = v; /* libxenstore NUL-terminates */
	return 0;
}

static int lx_write(void *h, vd_xs_txn t, const char *path, const char *value)
{
	if (!xs_write(h, t, path, value, (unsigned)strlen(value)))
		return errno > 0 ? -errno : -EIO;
	return 0;
}

static int lx_rm(void *h, vd_xs_txn t, const char *path)
{
	if (!xs_rm(h, t, path))
		return errno > 0 ? -errno : -EIO;
	return 0;
}

static int lx_directory(void *h, vd_xs_txn t, const char *path, char ***ret, unsigned *ret_n)
{
	unsigned n = 0;
	char **v = xs_directory(h, t, path, &n);

	if (!v)
		return errno > 0 ? -errno : -EIO;
	*ret = v;
	*ret_n = n;
	return 0;
}

static int lx_txn_start(void *h, vd_xs_txn *ret)
{
	xs_transaction_t t = xs_transaction_start(h);

	if (t == XBT_NULL)
		return errno > 0 ? -errno : -EIO;
	*ret = t;
	return 0;
}

static int lx_txn_end(void *h, vd_xs_txn t, bool abort)
{
	if (!xs_transaction_end(h, t, abort))
		return errno > 0 ? -errno : -EIO;
	return 0;
}

const struct vd_xs_ops vd_xs_libxenstore_ops = {
	.open = lx_open,
	.close = lx_close,
	.read = lx_read,
	.write = lx_write,
	.rm = lx_rm,
	.directory = lx_directory,
	.txn_start = lx_txn_start,
	.txn_end = lx_txn_end,
};

/* ---- helpers ---- */

void vd_xs_strv_free(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int vd_xs_open(const struct vd_xs_ops *ops, struct vd_xs **ret)
{
	struct vd_xs *xs;
	char *domid = NULL;
	uint32_t id = 0;
	int r;

	xs = calloc(1, sizeof(*xs));
	if (!xs)
		return -ENOMEM;
	xs->ops = ops ? ops : &vd_xs_libxenstore_ops;
	r = xs->ops->open(&xs->handle);
	if (r < 0) {
		free(xs);
		return vd_err(-ENOTCONN, "cannot connect to xenstore: %s (is xenstored running and "
					 "is this dom0?)",
			      strerror(-r));
	}
	/* Our own domain id: relative paths resolve against /local/domain/<it>. dom0 has the
	 * node written by xen-init-dom0; a driver domain has it from the toolstack. */
	if (xs->ops->read(xs->handle, 0, "domid", &domid) == 0) {
		if (vd_parse_id(domid, false, &id) < 0)
			id = 0;
		free(domid);
	}
	snprintf(xs->home, sizeof(xs->home), "/local/domain/%" PRIu32, id);
	*ret = xs;
	return 0;
}

void vd_xs_close(struct vd_xs *xs)
{
	if (!xs)
		return;
	xs->ops->close(xs->handle);
	free(xs);
}

int vd_xs_read(struct vd_xs *xs, const char *path, char **ret)
{
	return xs->ops->read(xs->handle, 0, path, ret);
}

int vd_xs_absolute(struct vd_xs *xs, const char *path, char **ret)
{
	char *s;

	if (path[0] == '/')
		s = strdup(path);
	else if (asprintf(&s, "%s/%s", xs->home, path) < 0)
		s = NULL;
	if (!s)
		return -ENOMEM;
	/* No trailing slash: the path is a key in the attachments table. */
	for (size_t l = strlen(s); l > 1 && s[l - 1] == '/'; l--)
		s[l - 1] = '\0';
	*ret = s;
	return 0;
}

static int read_node(struct vd_xs *xs, const char *be, const char *node, char **ret)
{
	_cleanup_free_ char *path = NULL;

	if (asprintf(&path, "%s/%s", be, node) < 0)
		return -ENOMEM;
	return xs->ops->read(xs->handle, 0, path, ret);
}

static void trim(char *s)
{
	size_t start = 0, end = strlen(s);

	while (s[start] && isspace((unsigned char)s[start]))
		start++;
	while (end > start && isspace((unsigned char)s[end - 1]))
		end--;
	memmove(s, s + start, end - start);
	s[end - start] = '\0';
}

void vd_xs_backend_dispose(struct vd_xs_backend *b)
{
	if (!b)
		return;
	free(b->params);
	free(b->mode);
	free(b->vdev);
	free(b->physical_device);
	memset(b, 0, sizeof(*b));
	b->frontend_id = -1;
}

int vd_xs_read_backend(struct vd_xs *xs, const char *be, struct vd_xs_backend *ret)
{
	struct vd_xs_backend b = { .frontend_id = -1 };
	char *fe = NULL;
	const struct {
		const char *node;
		char **dst;
	} nodes[] = {
		{ "params", &b.params },
		{ "mode", &b.mode },
		{ "dev", &b.vdev },
		{ "physical-device", &b.physical_device },
	};
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(nodes); i++) {
		r = read_node(xs, be, nodes[i].node, nodes[i].dst);
		if (r < 0 && r != -ENOENT) {
			vd_xs_backend_dispose(&b);
			return vd_err(r, "cannot read %s/%s from xenstore: %s", be, nodes[i].node,
				      strerror(-r));
		}
	}
	if (b.params)
		trim(b.params);
	if (b.mode)
		trim(b.mode);
	r = read_node(xs, be, "frontend-id", &fe);
	if (r == 0) {
		uint32_t id;

		trim(fe);
		if (strcmp(fe, "0") == 0)
			b.frontend_id = 0;
		else if (vd_parse_id(fe, false, &id) == 0)
			b.frontend_id = id;
		free(fe);
	} else if (r != -ENOENT) {
		vd_xs_backend_dispose(&b);
		return vd_err(r, "cannot read %s/frontend-id from xenstore: %s", be, strerror(-r));
	}
	*ret = b;
	return 0;
}

/* Runs fn inside a transaction, starting over while xenstored reports a conflict (EAGAIN). */
static int in_transaction(struct vd_xs *xs, const char *be,
			  int (*fn)(struct vd_xs *xs, vd_xs_txn t, const char *be, const void *arg),
			  const void *arg)
{
	for (int attempt = 0; attempt < TXN_TRIES; attempt++) {
		vd_xs_txn t;
		int r;

		r = xs->ops->txn_start(xs->handle, &t);
		if (r < 0)
			return r;
		r = fn(xs, t, be, arg);
		if (r < 0) {
			(void)xs->ops->txn_end(xs->handle, t, true);
			return r;
		}
		r = xs->ops->txn_end(xs->handle, t, false);
		if (r == 0)
			return 0;
		if (r != -EAGAIN)
			return r;
		/* Someone else changed what we read or wrote: back off a little and redo. */
		nanosleep(&(struct timespec){ .tv_nsec = (long)(1 + attempt) * 1000000L }, NULL);
	}
	return -EAGAIN;
}

static int write_node(struct vd_xs *xs, vd_xs_txn t, const char *be, const char *node,
		      const char *value)
{
	_cleanup_free_ char *path = NULL;

	if (asprintf(&path, "%s/%s", be, node) < 0)
		return -ENOMEM;
	return xs->ops->write(xs->handle, t, path, value);
}

struct connected_arg {
	const char *physdev;
	const char *path;
};

static int do_connected(struct vd_xs *xs, vd_xs_txn t, const char *be, const void *argp)
{
	const struct connected_arg *arg = argp;
	int r;

	r = write_node(xs, t, be, "physical-device", arg->physdev);
	if (r == 0)
		r = write_node(xs, t, be, "physical-device-path", arg->path);
	if (r == 0)
		r = write_node(xs, t, be, "hotplug-status", "connected");
	return r;
}

int vd_xs_write_connected(struct vd_xs *xs, const char *be, dev_t dev, const char *dev_path)
{
	char physdev[32];
	struct connected_arg arg = { physdev, dev_path };
	int r;

	/* Lower-case hex without leading zeros, as `stat -c %t:%T` prints and blkback parses. */
	snprintf(physdev, sizeof(physdev), "%x:%x", major(dev), minor(dev));
	r = in_transaction(xs, be, do_connected, &arg);
	if (r < 0)
		return vd_err(r, "cannot write physical-device %s to %s in xenstore: %s", physdev,
			      be, strerror(-r));
	return 0;
}

static int do_error(struct vd_xs *xs, vd_xs_txn t, const char *be, const void *msg)
{
	int r = write_node(xs, t, be, "hotplug-error", msg);

	if (r == 0)
		r = write_node(xs, t, be, "hotplug-status", "error");
	return r;
}

int vd_xs_write_error(struct vd_xs *xs, const char *be, const char *msg)
{
	return in_transaction(xs, be, do_error, msg);
}

static int do_clear(struct vd_xs *xs, vd_xs_txn t, const char *be, const void *unused)
{
	static const char *const nodes[] = { "physical-device", "physical-device-path",
					     "hotplug-status" };

	for (size_t i = 0; i < ARRAY_SIZE(nodes); i++) {
		_cleanup_free_ char *path = NULL;
		int r;

		if (asprintf(&path, "%s/%s", be, nodes[i]) < 0)
			return -ENOMEM;
		r = xs->ops->rm(xs->handle, t, path);
		if (r < 0 && r != -ENOENT)
			return r;
	}
	return 0;
}

int vd_xs_clear_results(struct vd_xs *xs, const char *be)
{
	return in_transaction(xs, be, do_clear, NULL);
}

int vd_xs_list_vbd_backends(struct vd_xs *xs, char ***ret, size_t *ret_n)
{
	_cleanup_free_ char *base = NULL;
	_cleanup_free_ char **doms = NULL;
	char **list = NULL;
	size_t n = 0;
	unsigned ndoms = 0;
	int r;

	if (asprintf(&base, "%s/backend/vbd", xs->home) < 0)
		return -ENOMEM;
	r = xs->ops->directory(xs->handle, 0, base, &doms, &ndoms);
	if (r == -ENOENT) {
		*ret = NULL;
		*ret_n = 0;
		return 0;
	}
	if (r < 0)
		return vd_err(r, "cannot list %s in xenstore: %s", base, strerror(-r));
	for (unsigned d = 0; d < ndoms; d++) {
		_cleanup_free_ char *dompath = NULL;
		_cleanup_free_ char **devs = NULL;
		unsigned ndevs = 0;
		char **grown;

		if (asprintf(&dompath, "%s/%s", base, doms[d]) < 0)
			goto oom;
		r = xs->ops->directory(xs->handle, 0, dompath, &devs, &ndevs);
		if (r == -ENOENT)
			continue; /* the domain went away meanwhile */
		if (r < 0) {
			vd_xs_strv_free(list, n);
			return vd_err(r, "cannot list %s in xenstore: %s", dompath, strerror(-r));
		}
		grown = realloc(list, (n + ndevs) * sizeof(*list));
		if (!grown && ndevs)
			goto oom;
		list = grown ? grown : list;
		for (unsigned i = 0; i < ndevs; i++) {
			if (asprintf(&list[n], "%s/%s", dompath, devs[i]) < 0)
				goto oom;
			n++;
		}
	}
	*ret = list;
	*ret_n = n;
	return 0;
oom:
	vd_xs_strv_free(list, n);
	return -ENOMEM;
}

int vd_xs_parse_physical_device(const char *s, dev_t *ret)
{
	unsigned maj, min;
	int end = 0;

	if (!s || sscanf(s, "%x:%x%n", &maj, &min, &end) != 2)
		return -EINVAL;
	while (isspace((unsigned char)s[end]))
		end++;
	if (s[end] != '\0')
		return -EINVAL;
	*ret = makedev(maj, min);
	return 0;
}
