#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <sanlock.h>
#include <sanlock_admin.h>
#include <sanlock_resource.h>
#include <sanlock_rv.h>

#include "base/error.h"
#include "pool/sanlock.h"

/* The registration of this process with the daemon: the socket whose closing (at the
 * process's death) makes the daemon release every lease the process holds. */
static int reg_sock = -1;
static pid_t reg_pid;
static struct vd_sanlock_stats stats;

int vd_sanlock_align_for(uint32_t sector_size, uint32_t *ret_align)
{
	switch (sector_size) {
	case 512:
		*ret_align = 1024 * 1024;
		return 0;
	case 4096:
		*ret_align = 8 * 1024 * 1024;
		return 0;
	default:
		return vd_err(-EINVAL,
			      "sanlock leases need a device with 512- or 4096-byte sectors, not %u",
			      sector_size);
	}
}

int vd_sanlock_area_init(struct vd_sanlock_area *a, const uint8_t pool_uuid[16], const char *path,
			 uint64_t offset, uint32_t sector_size)
{
	uint32_t align = 0;
	int r;

	r = vd_sanlock_align_for(sector_size, &align);
	if (r < 0)
		return r;
	if (strlen(path) >= sizeof(a->path) || strchr(path, ':'))
		return vd_err(-EINVAL, "%s cannot carry sanlock leases: its path is too long or "
				       "has a ':'", path);
	if (offset % align)
		return vd_err(-EINVAL, "the lease area on %s must start on a %u-byte boundary",
			      path, align);
	memset(a, 0, sizeof(*a));
	for (size_t i = 0; i < 16; i++)
		snprintf(a->lockspace + 2 * i, 3, "%02x", pool_uuid[i]);
	vd_uuid_unparse(pool_uuid, a->pool);
	snprintf(a->path, sizeof(a->path), "%s", path);
	a->offset = offset;
	a->sector_size = sector_size;
	a->align = align;
	return 0;
}

/* sanlock's flags for the geometry: the same bit values for lockspaces and resources. */
static uint32_t geometry_flags(const struct vd_sanlock_area *a)
{
	uint32_t f = a->sector_size == 4096 ? SANLK_RES_SECTOR4K : SANLK_RES_SECTOR512;

	return f | (a->align == 8 * 1024 * 1024 ? SANLK_RES_ALIGN8M : SANLK_RES_ALIGN1M);
}

static void copy_name(char dst[SANLK_NAME_LEN], const char *src)
{
	memset(dst, 0, SANLK_NAME_LEN);
	memcpy(dst, src, strnlen(src, SANLK_NAME_LEN));
}

static void lockspace_of(const struct vd_sanlock_area *a, uint64_t host_id,
			 struct sanlk_lockspace *ret)
{
	memset(ret, 0, sizeof(*ret));
	copy_name(ret->name, a->lockspace);
	ret->host_id = host_id;
	ret->flags = geometry_flags(a);
	snprintf(ret->host_id_disk.path, SANLK_PATH_LEN, "%s", a->path);
	ret->host_id_disk.offset = vd_sanlock_slot_offset(a, VD_SANLOCK_SLOT_LOCKSPACE);
}

/* A resource with one disk, as sanlock lays it out (the disk follows the struct). */
struct resource1 {
	struct sanlk_resource res;
	struct sanlk_disk disk;
};
_Static_assert(offsetof(struct resource1, disk) == offsetof(struct sanlk_resource, disks),
	       "the disk must lie where sanlock reads disks[0]");

static int resource_of(const struct vd_sanlock_area *a, unsigned slot, const char *name,
		       bool shared, struct resource1 *ret)
{
	if (slot == VD_SANLOCK_SLOT_LOCKSPACE || slot >= VD_SANLOCK_SLOTS)
		return vd_err(-EINVAL, "lease slot %u is not a resource slot", slot);
	if (!name || !*name || strlen(name) > VD_SANLOCK_NAME_MAX)
		return vd_err(-EINVAL, "lease name '%s' is empty or too long", name ? name : "");
	memset(ret, 0, sizeof(*ret));
	copy_name(ret->res.lockspace_name, a->lockspace);
	copy_name(ret->res.name, name);
	ret->res.flags = geometry_flags(a) | (shared ? SANLK_RES_SHARED : 0);
	ret->res.num_disks = 1;
	snprintf(ret->disk.path, SANLK_PATH_LEN, "%s", a->path);
	ret->disk.offset = vd_sanlock_slot_offset(a, slot);
	return 0;
}

/* The library's connection failures are plain -errno: the daemon is not there. */
static bool daemon_missing(int rv)
{
	return rv == -ECONNREFUSED || rv == -ENOENT || rv == -ECONNRESET || rv == -EPIPE;
}

static int daemon_err(int rv)
{
	return vd_err(-ECONNREFUSED, "the sanlock daemon does not answer (%s); start it "
				     "(systemctl start sanlock wdmd) and retry",
		      strerror(-rv));
}

/* sanlock's own codes (-2xx) as a sentence; errno values as strerror. */
static const char *sanlock_why(int rv)
{
	switch (rv) {
	case SANLK_AIO_TIMEOUT:
		return "I/O to the lease area timed out";
	case SANLK_DBLOCK_READ:
	case SANLK_LEADER_READ:
		return "the lease area cannot be read";
	case SANLK_DBLOCK_WRITE:
	case SANLK_LEADER_WRITE:
		return "the lease area cannot be written";
	case SANLK_LEADER_MAGIC:
	case SANLK_LEADER_VERSION:
	case SANLK_LEADER_CHECKSUM:
	case SANLK_DBLOCK_CHECKSUM:
		return "the lease area holds no valid sanlock lease (not formatted, or damaged)";
	case SANLK_LEADER_LOCKSPACE:
	case SANLK_LEADER_RESOURCE:
		return "the lease area belongs to another lockspace or resource";
	case SANLK_LEADER_SECTORSIZE:
	case SANLK_ADDLS_SIZES:
		return "the lease area was written for another sector size or alignment";
	case SANLK_ADDLS_INVALID_HOSTID:
		return "the host id is out of range";
	case SANLK_HOSTID_BUSY:
		return "another live host holds this host id";
	case SANLK_ACQUIRE_IDLIVE:
	case SANLK_ACQUIRE_OWNED:
	case SANLK_ACQUIRE_OTHER:
	case SANLK_ACQUIRE_OWNED_RETRY:
	case SANLK_ACQUIRE_SHRETRY:
		return "the lease is held by another host";
	case SANLK_ACQUIRE_IDDISK:
		return "the lease's owner could not be checked on disk";
	case SANLK_ACQUIRE_LOCKSPACE:
		return "the lease belongs to a lockspace this host has not joined";
	default:
		return rv < 0 && rv > -200 ? strerror(-rv) : sanlock_strerror(rv);
	}
}

int vd_sanlock_daemon_check(void)
{
	uint32_t version = 0, proto = 0;
	int rv = sanlock_version(0, &version, &proto);

	if (rv < 0 && daemon_missing(rv))
		return daemon_err(rv);
	if (rv < 0)
		return vd_err(-EIO, "the sanlock daemon fails: %s", sanlock_why(rv));
	return 0;
}

int vd_sanlock_area_format(const struct vd_sanlock_area *a, uint32_t io_timeout)
{
	struct sanlk_lockspace ls;
	struct resource1 res;
	int rv;

	lockspace_of(a, 0, &ls);
	rv = sanlock_write_lockspace(&ls, 0, 0, io_timeout);
	if (rv < 0 && daemon_missing(rv))
		return daemon_err(rv);
	if (rv < 0)
		return vd_err(-EIO, "cannot write the lockspace of pool %s on %s: %s",
			      a->pool, a->path, sanlock_why(rv));
	rv = resource_of(a, VD_SANLOCK_SLOT_METADATA, VD_SANLOCK_METADATA_RESOURCE, false, &res);
	if (rv < 0)
		return rv;
	rv = sanlock_write_resource(&res.res, 0, 0, 0);
	if (rv < 0)
		return vd_err(daemon_missing(rv) ? -ECONNREFUSED : -EIO,
			      "cannot write the metadata lease of pool %s on %s: %s", a->pool,
			      a->path, sanlock_why(rv));
	return 0;
}

int vd_sanlock_resource_format(const struct vd_sanlock_area *a, unsigned slot, const char *name)
{
	struct resource1 res;
	int rv;

	if (slot <= VD_SANLOCK_SLOT_METADATA)
		return vd_err(-EINVAL, "lease slot %u is reserved", slot);
	rv = resource_of(a, slot, name, false, &res);
	if (rv < 0)
		return rv;
	rv = sanlock_write_resource(&res.res, 0, 0, 0);
	if (rv < 0 && daemon_missing(rv))
		return daemon_err(rv);
	if (rv < 0)
		return vd_err(-EIO, "cannot write lease %s of pool %s on %s: %s", name,
			      a->pool, a->path, sanlock_why(rv));
	return 0;
}

static int check_host_id(uint64_t host_id)
{
	if (host_id < 1 || host_id > VD_SANLOCK_MAX_HOST_ID)
		return vd_err(-EINVAL, "host_id %" PRIu64 " is out of range: give this host a "
				       "host_id from 1 to %d in xenvd.conf",
			      host_id, VD_SANLOCK_MAX_HOST_ID);
	return 0;
}

int vd_sanlock_joined_host_id(const char *lockspace, uint64_t *ret_host_id, bool *ret_joining)
{
	struct sanlk_lockspace *lss = NULL;
	bool joining = false;
	uint64_t found = 0;
	int n = 0, rv;

	rv = sanlock_get_lockspaces(&lss, &n, 0);
	if (rv < 0 && daemon_missing(rv))
		return daemon_err(rv);
	if (rv < 0 && rv != -ENOSPC) {
		free(lss);
		return vd_err(-EIO, "cannot list sanlock's lockspaces: %s", sanlock_why(rv));
	}
	for (int i = 0; i < n; i++)
		if (strncmp(lss[i].name, lockspace, SANLK_NAME_LEN) == 0 &&
		    !(lss[i].flags & SANLK_LSF_REM)) {
			found = lss[i].host_id;
			joining = lss[i].flags & SANLK_LSF_ADD;
		}
	free(lss);
	*ret_host_id = found;
	if (ret_joining)
		*ret_joining = joining;
	return 0;
}

int vd_sanlock_check_joined(const struct vd_sanlock_area *a, unsigned wait_s,
			    uint64_t *ret_host_id)
{
	uint64_t joined_as;
	bool joining;
	int r;

	for (unsigned waited_ms = 0;; waited_ms += 200) {
		r = vd_sanlock_joined_host_id(a->lockspace, &joined_as, &joining);
		if (r < 0)
			return r;
		if (!joining)
			break;
		if (waited_ms >= wait_s * 1000)
			return vd_err(-ETIMEDOUT, "this host is still joining the lockspace of pool "
						  "%s; 'sanlock client status' shows how it goes",
				      a->pool);
		usleep(200 * 1000);
	}
	if (!joined_as)
		return vd_err(-ENOTCONN, "pool %s is shared and this host has not joined its "
					 "lockspace; run 'xl-vd lockspace-start'",
			      a->pool);
	if (ret_host_id)
		*ret_host_id = joined_as;
	return 0;
}

int vd_sanlock_join_state(const struct vd_sanlock_area *a, uint64_t host_id,
			  enum vd_sanlock_join_state *ret)
{
	struct sanlk_lockspace ls;
	int rv;

	lockspace_of(a, host_id, &ls);
	rv = sanlock_inq_lockspace(&ls, 0);
	if (rv == 0)
		*ret = VD_SANLOCK_JOINED;
	else if (rv == -EINPROGRESS)
		*ret = VD_SANLOCK_JOINING;
	else if (rv == -ENOENT)
		*ret = VD_SANLOCK_NOT_JOINED;
	else if (daemon_missing(rv))
		return daemon_err(rv);
	else
		return vd_err(-EIO, "cannot ask sanlock about the lockspace of pool %s: %s",
			      a->pool, sanlock_why(rv));
	return 0;
}

int vd_sanlock_join(const struct vd_sanlock_area *a, uint64_t host_id, uint32_t io_timeout,
		    bool wait)
{
	struct sanlk_lockspace ls;
	uint64_t joined_as;
	int rv;

	rv = check_host_id(host_id);
	if (rv < 0)
		return rv;
	lockspace_of(a, host_id, &ls);
	rv = sanlock_add_lockspace_timeout(&ls, wait ? 0 : SANLK_ADD_ASYNC, io_timeout);
	if (rv == 0 || (rv == -EINPROGRESS && !wait))
		return 0;
	if (daemon_missing(rv))
		return daemon_err(rv);
	if (rv == -EEXIST || rv == -EINPROGRESS) {
		/* Already in (or on its way in): fine with the same id, wrong with another. */
		rv = vd_sanlock_joined_host_id(a->lockspace, &joined_as, NULL);
		if (rv < 0)
			return rv;
		if (joined_as == host_id || joined_as == 0) {
			if (!wait)
				return 0;
			for (;;) {
				enum vd_sanlock_join_state st;

				rv = vd_sanlock_join_state(a, host_id, &st);
				if (rv < 0)
					return rv;
				if (st == VD_SANLOCK_JOINED)
					return 0;
				if (st == VD_SANLOCK_NOT_JOINED)
					return vd_err(-EIO, "joining the lockspace of pool %s as "
							    "host %" PRIu64 " failed; see sanlock's "
							    "log (sanlock client log_dump)",
						      a->pool, host_id);
				usleep(200 * 1000);
			}
		}
		return vd_err(-EEXIST, "this host is in the lockspace of pool %s as host %" PRIu64
				       ", not host %" PRIu64 " as xenvd.conf says; run "
				       "'xl-vd lockspace-stop' first",
			      a->pool, joined_as, host_id);
	}
	/* In already under another id (sanlock says -EINVAL then). */
	if (vd_sanlock_joined_host_id(a->lockspace, &joined_as, NULL) == 0 && joined_as &&
	    joined_as != host_id)
		return vd_err(-EEXIST, "this host is in the lockspace of pool %s as host %" PRIu64
				       ", not host %" PRIu64 " as xenvd.conf says; run "
				       "'xl-vd lockspace-stop' first",
			      a->pool, joined_as, host_id);
	if (rv == SANLK_HOSTID_BUSY)
		return vd_err(-EADDRINUSE, "host id %" PRIu64 " of pool %s is held by another live "
					   "host: two hosts claim one id; give each host its own "
					   "host_id in xenvd.conf",
			      host_id, a->pool);
	if (rv == SANLK_ADDLS_INVALID_HOSTID)
		return check_host_id(0);
	return vd_err(-EIO, "cannot join the lockspace of pool %s on %s as host %" PRIu64 ": %s",
		      a->pool, a->path, host_id, sanlock_why(rv));
}

int vd_sanlock_leave(const struct vd_sanlock_area *a, uint64_t host_id, bool wait)
{
	struct sanlk_lockspace ls;
	int rv;

	lockspace_of(a, host_id, &ls);
	rv = sanlock_rem_lockspace(&ls, SANLK_REM_UNUSED | (wait ? 0 : SANLK_REM_ASYNC));
	if (rv == 0 || rv == -ENOENT)
		return 0;
	if (daemon_missing(rv))
		return daemon_err(rv);
	if (rv == -EBUSY)
		return vd_err(-EBUSY, "leases of pool %s are still held on this host; release "
				      "them (detach its VDs) first",
			      a->pool);
	return vd_err(-EIO, "cannot leave the lockspace of pool %s: %s", a->pool,
		      sanlock_why(rv));
}

const char *vd_sanlock_host_state_name(enum vd_sanlock_host_state s)
{
	static const char *const names[] = {
		[VD_SANLOCK_HOST_UNKNOWN] = "unknown", [VD_SANLOCK_HOST_FREE] = "free",
		[VD_SANLOCK_HOST_LIVE] = "live",       [VD_SANLOCK_HOST_FAIL] = "fail",
		[VD_SANLOCK_HOST_DEAD] = "dead",
	};

	return (unsigned)s < ARRAY_SIZE(names) ? names[s] : "unknown";
}

static enum vd_sanlock_host_state host_state(uint32_t flags)
{
	switch (flags & SANLK_HOST_MASK) {
	case SANLK_HOST_FREE:
		return VD_SANLOCK_HOST_FREE;
	case SANLK_HOST_LIVE:
		return VD_SANLOCK_HOST_LIVE;
	case SANLK_HOST_FAIL:
		return VD_SANLOCK_HOST_FAIL;
	case SANLK_HOST_DEAD:
		return VD_SANLOCK_HOST_DEAD;
	default:
		return VD_SANLOCK_HOST_UNKNOWN;
	}
}

int vd_sanlock_hosts(const struct vd_sanlock_area *a, struct vd_sanlock_host **ret, size_t *ret_n)
{
	const char *lockspace = a->lockspace;
	struct sanlk_host *hss = NULL;
	struct vd_sanlock_host *hosts;
	int n = 0, rv;

	/* Right after joining, the daemon answers -EAGAIN until its first renewal has read
	 * every host's delta lease: wait for it, a few seconds at most. */
	for (int tries = 0;; tries++) {
		rv = sanlock_get_hosts(lockspace, 0, &hss, &n, 0);
		if (rv != -EAGAIN || tries == 100)
			break;
		free(hss);
		hss = NULL;
		usleep(100 * 1000);
	}
	if (rv < 0 && daemon_missing(rv))
		return daemon_err(rv);
	if (rv == -ENOENT || rv == -EINPROGRESS) {
		free(hss);
		return vd_err(-ENOTCONN, "this host has not joined the lockspace of pool %s; run "
					 "'xl-vd lockspace-start'",
			      a->pool);
	}
	if (rv < 0 && rv != -ENOSPC) {
		free(hss);
		return vd_err(-EIO, "cannot list the hosts of pool %s: %s", a->pool,
			      sanlock_why(rv));
	}
	hosts = calloc(n > 0 ? n : 1, sizeof(*hosts));
	if (!hosts) {
		free(hss);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++)
		hosts[i] = (struct vd_sanlock_host){
			.host_id = hss[i].host_id,
			.generation = hss[i].generation,
			.timestamp = hss[i].timestamp,
			.io_timeout = hss[i].io_timeout,
			.state = host_state(hss[i].flags),
		};
	free(hss);
	*ret = hosts;
	*ret_n = n;
	return 0;
}

int vd_sanlock_register(bool unkillable)
{
	int sock, rv;

	if (reg_sock >= 0 && reg_pid == getpid())
		return 0;
	if (reg_sock >= 0)
		close(reg_sock); /* a fork's copy: the parent's registration, not ours */
	reg_sock = -1;
	sock = sanlock_register();
	if (sock < 0)
		return daemon_missing(sock) ? daemon_err(sock)
					    : vd_err(-EIO, "cannot register with sanlock: %s",
						     sanlock_why(sock));
	/* A child that inherited the socket would keep our leases alive after our death. */
	(void)fcntl(sock, F_SETFD, FD_CLOEXEC);
	if (unkillable) {
		rv = sanlock_restrict(sock, SANLK_RESTRICT_SIGKILL);
		if (rv < 0) {
			close(sock);
			return vd_err(-EIO, "cannot restrict the sanlock registration: %s",
				      sanlock_why(rv));
		}
	}
	reg_sock = sock;
	reg_pid = getpid();
	return 0;
}

static int acquire_err(const struct vd_sanlock_area *a, const char *name, int rv)
{
	switch (rv) {
	case -EAGAIN:
	case -EEXIST:
	case -EBUSY:
	case SANLK_ACQUIRE_IDLIVE:
	case SANLK_ACQUIRE_OWNED:
	case SANLK_ACQUIRE_OTHER:
	case SANLK_ACQUIRE_OWNED_RETRY:
	case SANLK_ACQUIRE_SHRETRY:
		return vd_err(-EBUSY, "lease %s of pool %s is held elsewhere (%s)", name,
			      a->pool, sanlock_why(rv));
	case -ENOSPC:
	case -ENOENT:
	case SANLK_ACQUIRE_LOCKSPACE:
		return vd_err(-ENOTCONN, "pool %s is shared and this host has not joined its "
					 "lockspace; run 'xl-vd lockspace-start'",
			      a->pool);
	default:
		if (daemon_missing(rv))
			return daemon_err(rv);
		return vd_err(-EIO, "cannot take lease %s of pool %s on %s: %s", name,
			      a->pool, a->path, sanlock_why(rv));
	}
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void count_acquisition(uint64_t us)
{
	const char *path = getenv("XENVD_LEASE_STATS");
	char line[64];
	int fd, len;

	stats.acquired++;
	stats.acquire_us += us;
	if (!path || !*path)
		return;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	/* One write of a short line with O_APPEND: lines of concurrent processes do not mix. */
	len = snprintf(line, sizeof(line), "acquire %d %" PRIu64 "\n", (int)getpid(), us);
	if (write(fd, line, len) != len)
		vd_debug("sanlock: cannot record the acquisition in %s", path);
	close(fd);
}

int vd_sanlock_acquire(const struct vd_sanlock_area *a, unsigned slot, const char *name,
		       bool shared, pid_t pid)
{
	struct sanlk_resource *resv[1];
	struct resource1 res;
	uint64_t t0;
	int rv;

	rv = resource_of(a, slot, name, shared, &res);
	if (rv < 0)
		return rv;
	if (pid == 0) {
		rv = vd_sanlock_register(false);
		if (rv < 0)
			return rv;
	}
	resv[0] = &res.res;
	t0 = now_us();
	/* OWNER_NOWAIT: a lease whose owner host stopped renewing but is not yet dead is busy
	 * now, not a wait of up to host_dead_seconds inside the daemon (block-vd has 40 s in
	 * all); the caller's bounded retry takes it once sanlock declares that host dead. */
	rv = sanlock_acquire(pid == 0 ? reg_sock : -1, pid == 0 ? -1 : pid,
			     SANLK_ACQUIRE_OWNER_NOWAIT, 1, resv, NULL);
	if (rv < 0) {
		rv = acquire_err(a, name, rv);
		if (rv == -EBUSY)
			stats.refused++;
		return rv;
	}
	count_acquisition(now_us() - t0);
	vd_debug("sanlock: lease %s of pool %s acquired (%s) for pid %d", name, a->pool,
		 shared ? "shared" : "exclusive", pid == 0 ? (int)getpid() : (int)pid);
	return 0;
}

int vd_sanlock_release(const struct vd_sanlock_area *a, unsigned slot, const char *name,
		       pid_t pid)
{
	struct sanlk_resource *resv[1];
	struct resource1 res;
	int rv;

	rv = resource_of(a, slot, name, false, &res);
	if (rv < 0)
		return rv;
	if (pid == 0 && (reg_sock < 0 || reg_pid != getpid()))
		return vd_err(-ENOENT, "lease %s of pool %s is not held by this process", name,
			      a->pool);
	resv[0] = &res.res;
	rv = sanlock_release(pid == 0 ? reg_sock : -1, pid == 0 ? -1 : pid, 0, 1, resv);
	if (rv < 0) {
		if (daemon_missing(rv))
			return daemon_err(rv);
		return vd_err(-EIO, "cannot release lease %s of pool %s: %s", name, a->pool,
			      sanlock_why(rv));
	}
	vd_debug("sanlock: lease %s of pool %s released", name, a->pool);
	return 0;
}

int vd_sanlock_md_acquire(const struct vd_sanlock_area *a)
{
	return vd_sanlock_acquire(a, VD_SANLOCK_SLOT_METADATA, VD_SANLOCK_METADATA_RESOURCE, false,
				  0);
}

int vd_sanlock_md_release(const struct vd_sanlock_area *a)
{
	return vd_sanlock_release(a, VD_SANLOCK_SLOT_METADATA, VD_SANLOCK_METADATA_RESOURCE, 0);
}

const struct vd_sanlock_stats *vd_sanlock_stats(void)
{
	return &stats;
}

/* ---- the active-VD lease and its holder ---- */

int vd_sanlock_register_holder(int *ret_sock)
{
	int sock, rv;

	sock = sanlock_register();
	if (sock < 0)
		return daemon_missing(sock) ? daemon_err(sock)
					    : vd_err(-EIO, "cannot register with sanlock: %s",
						     sanlock_why(sock));
	(void)fcntl(sock, F_SETFD, FD_CLOEXEC);
	rv = sanlock_restrict(sock, SANLK_RESTRICT_SIGKILL);
	if (rv < 0) {
		close(sock);
		return vd_err(-EIO, "cannot restrict the sanlock registration: %s",
			      sanlock_why(rv));
	}
	*ret_sock = sock;
	return 0;
}

int vd_sanlock_leases_of(pid_t pid, struct vd_sanlock_lease **ret, size_t *ret_n)
{
	struct sanlk_resource **args = NULL;
	struct vd_sanlock_lease *list = NULL;
	char *state = NULL;
	int count = 0, n = 0, rv;

	rv = sanlock_inquire(-1, pid, 0, &count, &state);
	if (rv == -ESRCH)
		return vd_err(-ESRCH, "process %d is not registered with sanlock", (int)pid);
	if (rv < 0) {
		free(state);
		if (daemon_missing(rv))
			return daemon_err(rv);
		return vd_err(-EIO, "cannot ask sanlock which leases process %d holds: %s",
			      (int)pid, sanlock_why(rv));
	}
	if (count > 0 && state) {
		rv = sanlock_state_to_args(state, &n, &args);
		if (rv < 0) {
			free(state);
			return vd_err(-EIO, "cannot parse sanlock's lease list '%s'", state);
		}
	}
	free(state);
	list = calloc(n > 0 ? (size_t)n : 1, sizeof(*list));
	if (!list) {
		rv = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		struct vd_sanlock_lease *l = &list[i];

		memcpy(l->lockspace, args[i]->lockspace_name,
		       strnlen(args[i]->lockspace_name, SANLK_NAME_LEN));
		memcpy(l->name, args[i]->name, strnlen(args[i]->name, SANLK_NAME_LEN));
		if (args[i]->num_disks > 0) {
			snprintf(l->path, sizeof(l->path), "%s", args[i]->disks[0].path);
			l->offset = args[i]->disks[0].offset;
		}
		l->shared = args[i]->flags & SANLK_RES_SHARED;
	}
	*ret = TAKE_PTR(list);
	*ret_n = (size_t)n;
	rv = 0;
out:
	for (int i = 0; i < n; i++)
		free(args[i]);
	free(args);
	return rv;
}

int vd_sanlock_held_count(const struct vd_sanlock_area *a, const char *name, pid_t pid,
			  unsigned *ret)
{
	struct vd_sanlock_lease *list = NULL;
	size_t n = 0;
	int r;

	r = vd_sanlock_leases_of(pid, &list, &n);
	if (r < 0)
		return r;
	*ret = 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i].lockspace, a->lockspace) == 0 && strcmp(list[i].name, name) == 0)
			(*ret)++;
	free(list);
	return 0;
}

int vd_sanlock_release_lease(const struct vd_sanlock_lease *l, pid_t pid)
{
	struct sanlk_resource *resv[1];
	struct resource1 res;
	int rv;

	memset(&res, 0, sizeof(res));
	copy_name(res.res.lockspace_name, l->lockspace);
	copy_name(res.res.name, l->name);
	res.res.flags = l->shared ? SANLK_RES_SHARED : 0;
	res.res.num_disks = 1;
	snprintf(res.disk.path, SANLK_PATH_LEN, "%s", l->path);
	res.disk.offset = l->offset;
	resv[0] = &res.res;
	rv = sanlock_release(-1, pid, 0, 1, resv);
	if (rv < 0) {
		if (daemon_missing(rv))
			return daemon_err(rv);
		return vd_err(-EIO, "cannot release lease %s of pool %s for process %d: %s",
			      l->name, l->lockspace, (int)pid, sanlock_why(rv));
	}
	vd_debug("sanlock: lease %s of pool %s released for pid %d", l->name, l->lockspace,
		 (int)pid);
	return 0;
}
