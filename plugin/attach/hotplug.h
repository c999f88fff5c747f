/* The hotplug backend: what `block-vd add|remove` does for one xenstore backend libxl created
 * (libxl runs the script with XENBUS_PATH naming that backend directory). Reads the backend's nodes, attaches or detaches through attach.h, and
 * writes the results (physical-device, hotplug-status, hotplug-error) back. Nothing else.
 */
#ifndef XENVD_HOTPLUG_H
#define XENVD_HOTPLUG_H

#include "attach/attach.h"

/* The VD id of a backend's params (vd_parse_target), or -EINVAL with a message showing the right
 * disk line. */
int vd_hotplug_parse_params(const char *params, uint32_t *ret_id);

/* block-vd add: xenbus_path as libxl passes it (relative or absolute). On failure writes
 * hotplug-error and hotplug-status=error (busy for a sharing refusal) and returns -errno
 * (message in vd_errmsg()). */
int vd_hotplug_add(struct vd_attacher *h, const char *xenbus_path);

/* block-vd remove: idempotent; copes with a half-done add. */
int vd_hotplug_remove(struct vd_attacher *h, const char *xenbus_path);

#endif
