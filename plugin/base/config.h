/* xenvd.conf (key = value, '#' comments): every key has a default, so no file is needed.
 * Owns parsing and defaults only; it opens nothing but the configuration file.
 */
#ifndef XENVD_CONFIG_H
#define XENVD_CONFIG_H

#include "base/util.h"

/* xenvd.conf "sharing": who may use a VD while another attachment holds it. */
enum vd_sharing_level {
	VD_SHARING_READERS = 0,	   /* only read-only users share */
	VD_SHARING_ONE_WRITER = 1, /* one writer plus any number of readers */
	VD_SHARING_ANY = 2,	   /* no check */
};

struct vd_config {
	char *db_path;		 /* database = /var/lib/xenvd/xenvd.db */
	uint64_t extent_size;	 /* extent_size = 64M (format's default) */
	int sharing_level;	 /* sharing = 0|1|2 (enum vd_sharing_level) */
	bool scrub;		 /* scrub = yes|no (default for format; per pool after) */
	uint64_t kernel_max;	 /* boot_kernel_max = 256M */
	uint64_t ramdisk_max;	 /* boot_ramdisk_max = 256M */
	uint64_t config_max;	 /* boot_config_max = 1M */
	int boot_timeout;	 /* boot_timeout = 60 (seconds) */
	int log_level;		 /* log_level = 0..3 (err, warn, info, debug) */
	char *hotplug_log;	 /* hotplug_log = /var/log/xen/xen-hotplug.log */
	/* database_storage = auto|pool|file ($XENVD_DB_STORAGE): where format puts a NEW
	 * pool's database. auto: on the pool (its metadata area) when the first device is a
	 * block device, else the file at db_path. */
	char *db_storage;
	/* host_id = 1..2000: this host's id in the lockspace of every shared pool (sanlock's
	 * delta lease); 0 when unset (there is no default: two hosts must never share one). */
	int host_id;
	/* lockspace_io_timeout = 10 (seconds): sanlock's io_timeout when this host joins a
	 * lockspace (and written into a new lease area); a host is declared dead
	 * 8 x io_timeout + 60 s after its last renewal. */
	int lockspace_io_timeout;
};

/* The defaults (what an absent configuration file means). */
int vd_config_init(struct vd_config *ret);
/* Defaults, then the file at path (NULL: $XENVD_CONF, else XENVD_CONF_PATH) if it exists,
 * then $XENVD_DB over the database path and $XENVD_DB_STORAGE over database_storage. A syntax error names the file and line. */
int vd_config_load(const char *path, struct vd_config *ret);
void vd_config_dispose(struct vd_config *cfg);
/* The file vd_config_load(NULL, ...) reads, for messages ("set host_id in ..."). */
const char *vd_config_default_path(void);

#endif
