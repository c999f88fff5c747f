/* The runtime half of `xl-vd check`: dm devices carrying our UUID prefix, attachment rows and
 * xenstore backends compared with each other. The database's own invariants are pool.h's.
 */
#ifndef XENVD_CHECK_H
#define XENVD_CHECK_H

#include <stdbool.h>

#include "attach/attach.h"

/* One report line per problem (leaked dm device, attachment without dm device or without
 * backend, vd: backend without attachment). repair removes leaked dm devices nothing has open
 * and attachments whose xenstore backend is gone. *ret_report NULL when clean. */
int vd_check_runtime(struct vd_db *db, bool repair, char **ret_report, unsigned *ret_problems);
/* The same with explicit ops and xenstore (NULL: skip the xenstore comparisons). */
int vd_check_runtime_with(struct vd_db *db, const struct vd_attach_ops *ops, struct vd_xs *xs,
			  bool repair, char **ret_report, unsigned *ret_problems);

/* A shared pool: other hosts' attachments. Those of a host sanlock declares dead are stale, one
 * problem each, and repair drops them; a live, failing or unknown host's are left alone (a
 * host whose state cannot be learnt is one problem). Needs no device-mapper or xenstore. */
int vd_check_hosts(struct vd_db *db, bool repair, char **ret_report, unsigned *ret_problems);
int vd_check_hosts_with(struct vd_db *db, const struct vd_host_ops *hosts, bool repair,
			char **ret_report, unsigned *ret_problems);

#endif
