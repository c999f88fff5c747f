/* The hotplug backend: what `block-vd add|remove` does for one xenstore backend libxl created
 * (libxl runs the script with XENBUS_PATH naming that backend directory). Reads the backend's
 * nodes, attaches or detaches through attach.h, and writes the results (physical-device,
 * hotplug-status, hotplug-error) back. Nothing else. What it writes, the guest can read: other
 * tenants and dom0's paths go to the log only.
 */
#ifndef XENVD_HOTPLUG_H
#define XENVD_HOTPLUG_H

#include "attach/attach.h"

/* The VD id of a backend's params (vd_parse_target), or -EINVAL with a message showing the right
 * disk line. */
int vd_hotplug_parse_params(const char *params, uint32_t *ret_id);

/* hotplug-error sits in the backend directory, which the frontend domain reads, and libxl shows
 * it at `xl create`. msg as the frontend may see it: dom0 paths (files, devices, mount points,
 * xenstore nodes) become "<dom0 path>", UUIDs "<uuid>", and any domain but own_domid "another
 * domain"; what was refused and why stays. */
void vd_hotplug_guest_message(const char *msg, int64_t own_domid, char *buf, size_t len);

/* Writes that message as hotplug-error, with hotplug-status error (busy: "busy"), naming the
 * block-vd log line (pid and time) where dom0's log has the whole of msg. */
int vd_hotplug_write_error(struct vd_xs *xs, const char *be, int64_t own_domid, bool busy,
			   const char *msg);

/* block-vd add: xenbus_path as libxl passes it (relative or absolute). On failure writes
 * hotplug-error and hotplug-status=error (busy for a sharing refusal) and returns -errno
 * (message in vd_errmsg()). */
int vd_hotplug_add(struct vd_attacher *h, const char *xenbus_path);

/* block-vd remove: idempotent; copes with a half-done add. */
int vd_hotplug_remove(struct vd_attacher *h, const char *xenbus_path);

#endif
