/* xenstore: the only module that calls libxenstore. Reads a vbd backend's inputs (params, mode,
 * frontend-id), writes its results (physical-device, physical-device-path, hotplug-status, or
 * hotplug-error) in transactions retried on EAGAIN, and lists vbd backends for the sharing and
 * consistency checks. Decides nothing; all primitives go through an ops table so that tests can
 * replace xenstored with an in-memory fake that fails on demand.
 */
#ifndef XENVD_XS_H
#define XENVD_XS_H

#include <sys/types.h>

#include "base/util.h"

typedef uint32_t vd_xs_txn; /* 0: no transaction */

struct vd_xs_request {
	const char *path;
	bool directory; /* list children instead of reading the value */
	int r;		/* out: 0 or -errno (-ENOENT: missing) */
	char *value;	/* out (read): malloc'd, NUL terminated */
	char **list;	/* out (directory): one malloc'd block, as directory() */
	unsigned n;
};

/* Primitives, each 0 or -errno. read: -ENOENT when the node is missing; *ret malloc'd, NUL
 * terminated. directory: *ret is ONE malloc'd block (array and strings), free(*ret) frees it
 * (libxenstore's convention). txn_end: -EAGAIN when the transaction must be retried. */
struct vd_xs_ops {
	int (*open)(void **ret_handle);
	void (*close)(void *handle);
	int (*read)(void *handle, vd_xs_txn t, const char *path, char **ret);
	int (*write)(void *handle, vd_xs_txn t, const char *path, const char *value);
	int (*rm)(void *handle, vd_xs_txn t, const char *path);
	int (*directory)(void *handle, vd_xs_txn t, const char *path, char ***ret,
			 unsigned *ret_n);
	int (*txn_start)(void *handle, vd_xs_txn *ret);
	int (*txn_end)(void *handle, vd_xs_txn t, bool abort);
	/* Optional: many reads or directory listings outside a transaction, answered together
	 * (pipelined: one round trip's latency for all of them, not one each). Per request
	 * r is 0 or -errno and value/list as read/directory give them. Returns -errno only
	 * when the batch as a whole failed; then the caller asks one by one. NULL: one by one. */
	int (*batch)(void *handle, struct vd_xs_request *reqs, size_t n);
};

extern const struct vd_xs_ops vd_xs_libxenstore_ops;

struct vd_xs;

/* Connects (ops NULL: libxenstore). -ENOTCONN with a message when xenstored is unreachable. */
int vd_xs_open(const struct vd_xs_ops *ops, struct vd_xs **ret);
void vd_xs_close(struct vd_xs *xs);
static inline void vd_xs_closep(struct vd_xs **xs)
{
	if (*xs)
		vd_xs_close(*xs);
}
#define _cleanup_xs_ _cleanup_(vd_xs_closep)

/* Plain reads outside a transaction, for callers that need a node the helpers below do not
 * cover. -ENOENT when missing. */
int vd_xs_read(struct vd_xs *xs, const char *path, char **ret);

/* "backend/vbd/5/51712" → "/local/domain/0/backend/vbd/5/51712" (relative paths are resolved
 * against our own domain, as xenstored does). malloc'd. */
int vd_xs_absolute(struct vd_xs *xs, const char *path, char **ret);

/* What block-vd reads from a vbd backend directory. Missing optional nodes are NULL / -1. */
struct vd_xs_backend {
	char *params;	       /* trimmed of surrounding whitespace; NULL if missing */
	char *mode;	       /* "r", "w", ...; NULL if missing */
	int64_t frontend_id;   /* -1 if missing or not a number */
	char *vdev;	       /* "dev" node (e.g. "xvdb"); NULL if missing */
	char *physical_device; /* NULL unless already written */
};
void vd_xs_backend_init(struct vd_xs_backend *b);
void vd_xs_backend_dispose(struct vd_xs_backend *b);
int vd_xs_read_backend(struct vd_xs *xs, const char *be, struct vd_xs_backend *ret);

/* physical-device ("%x:%x"), physical-device-path and hotplug-status=connected, in one
 * transaction (retried while xenstored says EAGAIN). */
int vd_xs_write_connected(struct vd_xs *xs, const char *be, dev_t dev, const char *dev_path);

/* hotplug-error=<msg> and hotplug-status=error, in one transaction. */
int vd_xs_write_error(struct vd_xs *xs, const char *be, const char *msg);
/* The same with hotplug-status=busy: the device is in use elsewhere (the stock scripts' ebusy). */
int vd_xs_write_busy(struct vd_xs *xs, const char *be, const char *msg);

/* Absolute paths of every vbd backend of our domain ("/local/domain/0/backend/vbd/D/N"):
 * one directory read per frontend domain, all sent at once. malloc'd array of malloc'd
 * strings. */
int vd_xs_list_vbd_backends(struct vd_xs *xs, char ***ret, size_t *ret_n);

/* The node `node` of each backend directory bes[0..n-1], read at once: (*ret)[i] is the value
 * (malloc'd) or NULL when missing. Free with vd_xs_strv_free(*ret, n). */
int vd_xs_read_each(struct vd_xs *xs, char *const *bes, size_t n, const char *node,
		    char ***ret);
void vd_xs_strv_free(char **v, size_t n);

/* Which VM a domain belongs to, as the toolstack records it: /local/domain/<domid>/vm names
 * "/vm/<uuid>" (libxl keeps the UUID across save, restore and migration, so the domains of one
 * VM share it), and /local/domain/<domid>/target names the domain a device-model stub domain
 * serves. */
struct vd_xs_domain {
	bool gone;		  /* /local/domain/<domid> does not exist (any more) */
	char vm_uuid[37];	  /* lower case; "" when the domain names no (valid) VM */
	char target_vm_uuid[37]; /* the VM of its target domain; "" when it has none */
};
/* Reads /local/domain/<domid>/vm (the UUID is the last component of "/vm/<uuid>"; for another
 * form, <vm path>/uuid), /local/domain/<domid>/target and that domain's vm. Two reads for an
 * ordinary domain; a directory read more when vm is missing, to tell a domain without one from
 * a domain that is gone. -errno only when xenstore fails. */
int vd_xs_read_domain(struct vd_xs *xs, uint32_t domid, struct vd_xs_domain *ret);

/* "%x:%x" ↔ dev_t. */
int vd_xs_parse_physical_device(const char *s, dev_t *ret);

#endif
