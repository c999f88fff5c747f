#include <ctype.h>
#include <errno.h> /* before xs_wire.h: its error table needs EINVAL */
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <xen/io/xs_wire.h>
#include <xenstore.h>

#include "base/error.h"
#include "attach/xs.h"

#define TXN_TRIES 64

struct vd_xs {
	const struct vd_xs_ops *ops;
	void *handle;
	char home[48]; /* "/local/domain/<our domid>" */
};

/* ---- libxenstore primitives ---- */

struct lx {
	struct xs_handle *h;
	int raw; /* our own connection for pipelined batches; -1 until needed, -2 unusable */
	bool raw_socket; /* xenstored's socket (else the xenbus device) */
};

static int lx_open(void **ret)
{
	struct lx *lx = calloc(1, sizeof(*lx));

	if (!lx)
		return -ENOMEM;
	lx->h = xs_open(0);
	if (!lx->h) {
		int r = errno > 0 ? -errno : -ENOTCONN;

		free(lx);
		return r;
	}
	lx->raw = -1;
	*ret = lx;
	return 0;
}

static void lx_close(void *handle)
{
	struct lx *lx = handle;

	if (lx->raw >= 0)
		close(lx->raw);
	xs_close(lx->h);
	free(lx);
}

static int lx_read(void *handle, vd_xs_txn t, const char *path, char **ret)
{
	struct lx *lx = handle;
	unsigned len;
	char *v = xs_read(lx->h, t, path, &len);

	if (!v)
		return errno > 0 ? -errno : -EIO;
	*ret = v; /* libxenstore NUL-terminates */
	return 0;
}

static int lx_write(void *handle, vd_xs_txn t, const char *path, const char *value)
{
	struct lx *lx = handle;

	if (!xs_write(lx->h, t, path, value, (unsigned)strlen(value)))
		return errno > 0 ? -errno : -EIO;
	return 0;
}

static int lx_rm(void *handle, vd_xs_txn t, const char *path)
{
	struct lx *lx = handle;

	if (!xs_rm(lx->h, t, path))
		return errno > 0 ? -errno : -EIO;
	return 0;
}

static int lx_directory(void *handle, vd_xs_txn t, const char *path, char ***ret, unsigned *ret_n)
{
	struct lx *lx = handle;
	unsigned n = 0;
	char **v = xs_directory(lx->h, t, path, &n);

	if (!v)
		return errno > 0 ? -errno : -EIO;
	*ret = v;
	*ret_n = n;
	return 0;
}

static int lx_txn_start(void *handle, vd_xs_txn *ret)
{
	struct lx *lx = handle;
	xs_transaction_t t = xs_transaction_start(lx->h);

	if (t == XBT_NULL)
		return errno > 0 ? -errno : -EIO;
	*ret = t;
	return 0;
}

static int lx_txn_end(void *handle, vd_xs_txn t, bool abort)
{
	struct lx *lx = handle;

	if (!xs_transaction_end(lx->h, t, abort))
		return errno > 0 ? -errno : -EIO;
	return 0;
}

/* ---- pipelined batches on the wire protocol (xs_wire.h) ----
 * libxenstore sends one request and waits for its answer; with hundreds of vbds that is
 * hundreds of round trips through xenstored. The protocol itself allows many requests in
 * flight on one connection (each answer carries its req_id), so a batch of reads goes out on
 * a second connection of our own, a window at a time. Same places libxenstore connects to:
 * $XENSTORED_PATH, else xenstored's socket, else the kernel's xenbus device (which takes
 * exactly one message per write(2)). */

#define BATCH_WINDOW 128
#define BATCH_TIMEOUT_MS 10000

static int raw_connect(bool *ret_socket)
{
	const char *env = getenv("XENSTORED_PATH");
	const char *sock = env && *env ? env : "/var/run/xenstored/socket";
	const char *dev = env && *env ? env : "/dev/xen/xenbus";
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(sock) < sizeof(sa.sun_path)) {
		strcpy(sa.sun_path, sock);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			struct timeval tv = { .tv_sec = BATCH_TIMEOUT_MS / 1000 };

			(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			*ret_socket = true;
			return fd;
		}
		if (fd >= 0)
			close(fd);
	}
	fd = open(dev, O_RDWR | O_CLOEXEC);
	*ret_socket = false;
	return fd >= 0 ? fd : -errno;
}

/* One read or write of at least one byte, waiting at most BATCH_TIMEOUT_MS. On a socket,
 * send(MSG_NOSIGNAL): xenstored going away must be an error, not a SIGPIPE. */
static ssize_t raw_io_some(int fd, bool socket, void *buf, size_t len, bool writing)
{
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = writing ? POLLOUT : POLLIN };
		ssize_t k = !writing ? read(fd, buf, len)
			    : socket ? send(fd, buf, len, MSG_NOSIGNAL)
				     : write(fd, buf, len);

		if (k > 0)
			return k;
		if (k == 0)
			return -ECONNRESET;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		if (errno == EAGAIN) {
			int pr = poll(&pfd, 1, BATCH_TIMEOUT_MS);

			if (pr == 0)
				return -ETIMEDOUT;
			if (pr < 0 && errno != EINTR)
				return -errno;
		}
	}
}

static int raw_write_all(int fd, bool socket, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t k = raw_io_some(fd, socket, (void *)p, len, true);

		if (k < 0)
			return (int)k;
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

/* Appends one request to out (at most XENSTORE_PAYLOAD_MAX of payload). */
static int raw_put(char *out, size_t cap, size_t *len, uint32_t type, uint32_t req_id,
		   const char *path)
{
	struct xsd_sockmsg hdr = { .type = type, .req_id = req_id };
	size_t plen = strlen(path) + 1;

	if (plen > XENSTORE_PAYLOAD_MAX)
		return -E2BIG;
	if (*len + sizeof(hdr) + plen > cap)
		return -ENOBUFS;
	hdr.len = (uint32_t)plen;
	memcpy(out + *len, &hdr, sizeof(hdr));
	memcpy(out + *len + sizeof(hdr), path, plen);
	*len += sizeof(hdr) + plen;
	return 0;
}

static int errno_of(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(xsd_errors); i++)
		if (strlen(xsd_errors[i].errstring) == len &&
		    memcmp(xsd_errors[i].errstring, name, len) == 0)
			return xsd_errors[i].errnum;
	return EIO;
}

/* A directory answer "a\0b\0c\0" as directory() returns it: array and strings in one block. */
static int split_directory(const char *payload, size_t len, char ***ret, unsigned *ret_n)
{
	unsigned n = 0;
	char **v, *strings;

	for (size_t i = 0; i < len; i++)
		n += payload[i] == '\0';
	v = malloc((n + 1) * sizeof(char *) + len + 1);
	if (!v)
		return -ENOMEM;
	strings = (char *)(v + n + 1);
	memcpy(strings, payload, len);
	strings[len] = '\0';
	for (unsigned i = 0; i < n; i++) {
		v[i] = strings;
		strings += strlen(strings) + 1;
	}
	v[n] = NULL;
	*ret = v;
	*ret_n = n;
	return 0;
}

/* One answer (header + payload) into its request; watch events are skipped. */
static int raw_answer(const struct xsd_sockmsg *hdr, const char *payload,
		      struct vd_xs_request *reqs, size_t n, size_t *ret_done)
{
	struct vd_xs_request *q;

	if (hdr->type == XS_WATCH_EVENT)
		return 0; /* not ours: this connection has no watches */
	if (hdr->req_id >= n || reqs[hdr->req_id].r != 1)
		return -EPROTO;
	q = &reqs[hdr->req_id];
	if (hdr->type == XS_ERROR) {
		q->r = -errno_of(payload, strnlen(payload, hdr->len));
	} else if (hdr->type != (q->directory ? XS_DIRECTORY : XS_READ)) {
		return -EPROTO;
	} else if (q->directory) {
		q->r = split_directory(payload, hdr->len, &q->list, &q->n);
	} else {
		q->value = malloc(hdr->len + 1);
		q->r = q->value ? 0 : -ENOMEM;
		if (q->value) {
			memcpy(q->value, payload, hdr->len);
			q->value[hdr->len] = '\0';
		}
	}
	(*ret_done)++;
	return 0;
}

/* Reads at least min_len bytes (at most len) when the connection is a socket: MSG_WAITALL,
 * bounded by the SO_RCVTIMEO set at connect; at least one byte otherwise. */
static ssize_t raw_read(struct lx *lx, char *buf, size_t len, size_t min_len)
{
	ssize_t k;

	if (!lx->raw_socket)
		return raw_io_some(lx->raw, false, buf, len, false);
	if (min_len > len)
		min_len = len;
	do
		k = recv(lx->raw, buf, min_len, MSG_WAITALL);
	while (k < 0 && errno == EINTR);
	if (k > 0)
		return k;
	if (k == 0)
		return -ECONNRESET;
	return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
}

/* Buffers big enough for a window of requests and of the largest answers. */
struct batch_io {
	char out[BATCH_WINDOW * (sizeof(struct xsd_sockmsg) + 256)];
	char in[BATCH_WINDOW * 64 + 2 * (sizeof(struct xsd_sockmsg) + XENSTORE_PAYLOAD_MAX)];
	size_t in_len;
};

static int lx_batch(void *handle, struct vd_xs_request *reqs, size_t n)
{
	struct lx *lx = handle;
	_cleanup_free_ struct batch_io *io = NULL;
	size_t sent = 0, done = 0;
	int r = 0;

	if (n > UINT32_MAX)
		return -E2BIG;
	if (lx->raw == -2)
		return -ENOTSUP;
	io = malloc(sizeof(*io));
	if (!io)
		return -ENOMEM;
	io->in_len = 0;
	if (lx->raw < 0) {
		lx->raw = raw_connect(&lx->raw_socket);
		if (lx->raw < 0) {
			lx->raw = -2;
			return -ENOTSUP;
		}
	}
	for (size_t i = 0; i < n; i++)
		reqs[i].r = 1; /* not answered yet */
	while (done < n) {
		size_t len = 0, off = 0;
		ssize_t k;

		/* Top up the window. A socket takes them in one write; the xenbus device
		 * takes exactly one message per write. */
		while (sent < n && sent - done < BATCH_WINDOW) {
			r = raw_put(io->out, sizeof(io->out), &len,
				    reqs[sent].directory ? XS_DIRECTORY : XS_READ, (uint32_t)sent,
				    reqs[sent].path);
			if (r == -ENOBUFS)
				break;
			if (r < 0)
				goto broken;
			sent++;
			if (!lx->raw_socket) {
				r = raw_write_all(lx->raw, lx->raw_socket, io->out, len);
				if (r < 0)
					goto broken;
				len = 0;
			}
		}
		if (len > 0) {
			r = raw_write_all(lx->raw, lx->raw_socket, io->out, len);
			if (r < 0)
				goto broken;
		}
		/* Whatever has arrived: every complete answer in it. On the socket, wait in the
		 * kernel for at least the bytes the outstanding answers must still bring (16 each):
		 * a system call per window rather than one per answer. */
		k = raw_read(lx, io->in + io->in_len, sizeof(io->in) - io->in_len,
			     16 * (sent - done) > io->in_len ? 16 * (sent - done) - io->in_len : 1);
		if (k < 0) {
			r = (int)k;
			goto broken;
		}
		io->in_len += (size_t)k;
		while (io->in_len - off >= sizeof(struct xsd_sockmsg)) {
			struct xsd_sockmsg hdr;

			memcpy(&hdr, io->in + off, sizeof(hdr));
			if (hdr.len > XENSTORE_PAYLOAD_MAX) {
				r = -EPROTO;
				goto broken;
			}
			if (io->in_len - off < sizeof(hdr) + hdr.len)
				break;
			r = raw_answer(&hdr, io->in + off + sizeof(hdr), reqs, n, &done);
			if (r < 0)
				goto broken;
			off += sizeof(hdr) + hdr.len;
		}
		memmove(io->in, io->in + off, io->in_len - off);
		io->in_len -= off;
	}
	return 0;
broken:
	/* Answers may still be in flight: this connection cannot be trusted again. */
	close(lx->raw);
	lx->raw = -2;
	for (size_t i = 0; i < n; i++) {
		free(reqs[i].value);
		free(reqs[i].list);
		reqs[i].value = NULL;
		reqs[i].list = NULL;
	}
	return r;
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
	.batch = lx_batch,
};

/* ---- helpers ---- */

/* "a/b", malloc'd; NULL when out of memory. (asprintf costs ~3000 instructions a call, and the
 * sharing check builds two paths per vbd on the host.) */
static char *path_join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = malloc(la + lb + 2);

	if (!s)
		return NULL;
	memcpy(s, a, la);
	s[la] = '/';
	memcpy(s + la + 1, b, lb + 1);
	return s;
}

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
		if (vd_parse_u32(domid, &id) < 0)
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
	else
		s = path_join(xs->home, path);
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

	if (!(path = path_join(be, node)))
		return -ENOMEM;
	return xs->ops->read(xs->handle, 0, path, ret);
}

void vd_xs_backend_init(struct vd_xs_backend *b)
{
	*b = (struct vd_xs_backend){ .frontend_id = -1 };
}

void vd_xs_backend_dispose(struct vd_xs_backend *b)
{
	if (!b)
		return;
	free(b->params);
	free(b->mode);
	free(b->vdev);
	free(b->physical_device);
	vd_xs_backend_init(b);
}

int vd_xs_read_backend(struct vd_xs *xs, const char *be, struct vd_xs_backend *ret)
{
	struct vd_xs_backend b;
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

	vd_xs_backend_init(&b);
	for (size_t i = 0; i < ARRAY_SIZE(nodes); i++) {
		r = read_node(xs, be, nodes[i].node, nodes[i].dst);
		if (r < 0 && r != -ENOENT) {
			vd_xs_backend_dispose(&b);
			return vd_err(r, "cannot read %s/%s from xenstore: %m", be, nodes[i].node);
		}
	}
	if (b.params)
		vd_strip(b.params);
	if (b.mode)
		vd_strip(b.mode);
	r = read_node(xs, be, "frontend-id", &fe);
	if (r == 0) {
		uint32_t id;

		vd_strip(fe);
		if (vd_parse_u32(fe, &id) == 0)
			b.frontend_id = id;
		free(fe);
	} else if (r != -ENOENT) {
		vd_xs_backend_dispose(&b);
		return vd_err(r, "cannot read %s/frontend-id from xenstore: %m", be);
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

	if (!(path = path_join(be, node)))
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
		return vd_err(r, "cannot write physical-device %s to %s in xenstore: %m", physdev,
			      be);
	return 0;
}

struct error_arg {
	const char *status;
	const char *msg;
};

static int do_error(struct vd_xs *xs, vd_xs_txn t, const char *be, const void *argp)
{
	const struct error_arg *arg = argp;
	int r = write_node(xs, t, be, "hotplug-error", arg->msg);

	if (r == 0)
		r = write_node(xs, t, be, "hotplug-status", arg->status);
	return r;
}

int vd_xs_write_error(struct vd_xs *xs, const char *be, const char *msg)
{
	return in_transaction(xs, be, do_error, &(struct error_arg){ "error", msg });
}

int vd_xs_write_busy(struct vd_xs *xs, const char *be, const char *msg)
{
	return in_transaction(xs, be, do_error, &(struct error_arg){ "busy", msg });
}

/* Answers every request: in one pipelined batch when the ops can, one by one otherwise (and
 * for what a batch cannot carry: a directory too big for one message). */
static void batch(struct vd_xs *xs, struct vd_xs_request *reqs, size_t n)
{
	bool batched = n > 1 && xs->ops->batch && xs->ops->batch(xs->handle, reqs, n) == 0;

	for (size_t i = 0; i < n; i++) {
		struct vd_xs_request *q = &reqs[i];

		if (batched && q->r != -E2BIG)
			continue;
		q->value = NULL;
		q->list = NULL;
		q->n = 0;
		q->r = q->directory ? xs->ops->directory(xs->handle, 0, q->path, &q->list, &q->n)
				    : xs->ops->read(xs->handle, 0, q->path, &q->value);
	}
}

static void requests_free(struct vd_xs_request *reqs, size_t n)
{
	if (!reqs)
		return;
	for (size_t i = 0; i < n; i++) {
		free((char *)reqs[i].path);
		free(reqs[i].value);
		free(reqs[i].list);
	}
	free(reqs);
}

int vd_xs_list_vbd_backends(struct vd_xs *xs, char ***ret, size_t *ret_n)
{
	_cleanup_free_ char *base = NULL;
	_cleanup_free_ char **doms = NULL;
	struct vd_xs_request *reqs = NULL;
	char **list = NULL;
	size_t n = 0, total = 0;
	unsigned ndoms = 0;
	int r;

	if (!(base = path_join(xs->home, "backend/vbd")))
		return -ENOMEM;
	r = xs->ops->directory(xs->handle, 0, base, &doms, &ndoms);
	if (r == -ENOENT) {
		*ret = NULL;
		*ret_n = 0;
		return 0;
	}
	if (r < 0)
		return vd_err(r, "cannot list %s in xenstore: %m", base);
	reqs = calloc(ndoms ? ndoms : 1, sizeof(*reqs));
	if (!reqs)
		return -ENOMEM;
	for (unsigned d = 0; d < ndoms; d++) {
		char *path;

		if (!(path = path_join(base, doms[d]))) {
			requests_free(reqs, d);
			return -ENOMEM;
		}
		reqs[d] = (struct vd_xs_request){ .path = path, .directory = true };
	}
	batch(xs, reqs, ndoms);
	for (unsigned d = 0; d < ndoms; d++) {
		if (reqs[d].r == -ENOENT)
			continue; /* the domain went away meanwhile */
		if (reqs[d].r < 0) {
			r = vd_err(reqs[d].r, "cannot list %s in xenstore: %m", reqs[d].path);
			requests_free(reqs, ndoms);
			return r;
		}
		total += reqs[d].n;
	}
	list = calloc(total ? total : 1, sizeof(*list));
	if (!list)
		goto oom;
	for (unsigned d = 0; d < ndoms; d++) {
		if (reqs[d].r < 0)
			continue;
		for (unsigned i = 0; i < reqs[d].n; i++) {
			if (!(list[n] = path_join(reqs[d].path, reqs[d].list[i])))
				goto oom;
			n++;
		}
	}
	requests_free(reqs, ndoms);
	*ret = list;
	*ret_n = n;
	return 0;
oom:
	requests_free(reqs, ndoms);
	vd_xs_strv_free(list, n);
	return -ENOMEM;
}

int vd_xs_read_each(struct vd_xs *xs, char *const *bes, size_t n, const char *node,
		    char ***ret)
{
	struct vd_xs_request *reqs = calloc(n ? n : 1, sizeof(*reqs));
	char **values = calloc(n ? n : 1, sizeof(*values));
	int r = 0;

	if (!reqs || !values) {
		free(reqs);
		free(values);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		char *path;

		if (!(path = path_join(bes[i], node))) {
			requests_free(reqs, i);
			free(values);
			return -ENOMEM;
		}
		reqs[i] = (struct vd_xs_request){ .path = path };
	}
	batch(xs, reqs, n);
	for (size_t i = 0; i < n && r == 0; i++) {
		if (reqs[i].r == 0) {
			values[i] = TAKE_PTR(reqs[i].value);
		} else if (reqs[i].r != -ENOENT) {
			r = vd_err(reqs[i].r, "cannot read %s from xenstore: %m", reqs[i].path);
		}
	}
	requests_free(reqs, n);
	if (r < 0) {
		vd_xs_strv_free(values, n);
		return r;
	}
	*ret = values;
	return 0;
}

/* The canonical (lower-case) text of a UUID in s; false if s is none. */
static bool canonical_uuid(const char *s, char ret[37])
{
	uint8_t u[16];

	if (vd_uuid_parse(s, u) < 0)
		return false;
	vd_uuid_unparse(u, ret);
	return true;
}

/* The UUID of the VM at vm_path: "/vm/<uuid>" as libxl writes it, else what <vm_path>/uuid
 * holds. "" when neither gives one. */
static int vm_uuid_of(struct vd_xs *xs, const char *vm_path, char ret[37])
{
	const char *last = strrchr(vm_path, '/');
	_cleanup_free_ char *uuid = NULL;
	int r;

	ret[0] = '\0';
	if (last && canonical_uuid(last + 1, ret))
		return 0;
	r = read_node(xs, vm_path, "uuid", &uuid);
	if (r == -ENOENT || r == -EACCES || r == -EINVAL)
		return 0;
	if (r < 0)
		return r;
	vd_strip(uuid);
	(void)canonical_uuid(uuid, ret);
	return 0;
}

/* The VM UUID of domain domid into ret ("" when it has no valid vm node); *ret_gone when the
 * domain's directory does not exist at all. */
static int domain_vm(struct vd_xs *xs, uint32_t domid, char ret[37], bool *ret_gone)
{
	_cleanup_free_ char *vm = NULL;
	_cleanup_free_ char **children = NULL;
	char dom[48];
	unsigned n = 0;
	int r;

	ret[0] = '\0';
	*ret_gone = false;
	snprintf(dom, sizeof(dom), "/local/domain/%" PRIu32, domid);
	r = read_node(xs, dom, "vm", &vm);
	if (r == 0) {
		vd_strip(vm);
		return *vm ? vm_uuid_of(xs, vm, ret) : 0;
	}
	if (r != -ENOENT)
		return r;
	r = xs->ops->directory(xs->handle, 0, dom, &children, &n);
	if (r == -ENOENT) {
		*ret_gone = true;
		return 0;
	}
	return r < 0 ? r : 0;
}

int vd_xs_read_domain(struct vd_xs *xs, uint32_t domid, struct vd_xs_domain *ret)
{
	struct vd_xs_domain d = { 0 };
	_cleanup_free_ char *target = NULL;
	char path[64];
	uint32_t tid;
	bool target_gone;
	int r;

	r = domain_vm(xs, domid, d.vm_uuid, &d.gone);
	if (r < 0)
		goto fail;
	if (!d.gone) {
		snprintf(path, sizeof(path), "/local/domain/%" PRIu32 "/target", domid);
		r = xs->ops->read(xs->handle, 0, path, &target);
		if (r == 0) {
			vd_strip(target);
			if (vd_parse_u32(target, &tid) == 0 && tid != domid) {
				r = domain_vm(xs, tid, d.target_vm_uuid, &target_gone);
				if (r < 0)
					goto fail;
			}
		} else if (r != -ENOENT) {
			goto fail;
		}
	}
	*ret = d;
	return 0;
fail:
	return vd_err(r, "cannot read the VM of domain %" PRIu32 " from xenstore: %s", domid,
		      strerror(-r));
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
