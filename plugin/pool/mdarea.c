#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "pool/label.h"
#include "pool/mdarea.h"
#include "pool/pool.h"

/* The header block, the first 4 KiB of the area; three 512-byte sectors, each with its own
 * CRC32C, so that each is written whole or not at all:
 *   sector 0, the area:   0 magic "XENVD\0MD"  8 version u32  12 header_len u32
 *                        16 pool_uuid[16]  32 area_size u64  40 db_offset u64  48 db_capacity u64
 *                        56 journal_offset u64  64 journal_capacity u64  72 copy u32
 *                        76 reserved u32  80 crc32c over 0..79
 *                        version 2 (a shared pool, DESIGN.md "Shared pools"), in place of the
 *                        crc: 80 lease_device_uuid[16]  96 lease_offset u64  104 lease_size u64
 *                        112 lease_sector_size u32  116 reserved u32  120 crc32c over 0..119
 *   sector 1, the database region, sector 2, the journal region:
 *                         0 magic "XENVD\0RG"  8 kind u32  12 header_len u32  16 length u64
 *                        24 generation u64  32 crc32c over 0..31
 * Big-endian; region offsets are from the start of the area. */
#define AREA_MAGIC "XENVD\0MD"
#define REGION_MAGIC "XENVD\0RG"
#define AREA_VERSION 2
/* An unshared pool's header stays version 1, which an older xenvd reads; a shared pool's is
 * version 2, which an older xenvd refuses (it would write without the lease). */
#define AREA_HEADER_LEN_V1 80
#define AREA_HEADER_LEN_V2 120
#define REGION_HEADER_LEN 32
#define SECTOR 512
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

struct region {
	uint64_t offset, capacity, length, generation;
	bool dirty; /* length changed since the header was written */
};

struct copy {
	int fd;
	struct vd_md_copy where;
};

struct vd_mdarea {
	uint8_t pool_uuid[16];
	struct copy copies[2];
	size_t n;
	bool readonly;
	struct region regions[2];
	struct vd_md_lease lease; /* size 0: not shared */
	/* The journal's write-back cache: block i of the journal region in blocks[i]. */
	uint8_t **blocks;
	bool *block_dirty;
	size_t nblocks;
	uint8_t *bounce; /* VD_MD_BLOCK-aligned */
	size_t bounce_size;
	struct vd_md_stats stats;
	int64_t drop_after;
	bool zero_journal_head; /* the journal was emptied: zero its first block at sync */
	bool out_of_step;	/* two copies, the second older: resync before writing */
	char describe[512];
};

static uint64_t round_up(uint64_t v, uint64_t to)
{
	return (v + to - 1) / to * to;
}

uint64_t vd_mdarea_size_for(uint64_t max_extents)
{
	/* Measured: an extent costs 25 bytes of table and indexes when free, 31 when owned (a
	 * pool of 200000 extents, 160000 of them in 50 VDs); 64 leaves room for VDs,
	 * attachments and half-empty pages. The journal can hold every page of the
	 * database (a transaction touching all of them) plus its record framing. */
	uint64_t db = round_up(max_extents * 64 + (1 << 20), VD_MD_BLOCK);
	uint64_t journal = round_up(db + db / 512 + (64 << 10), VD_MD_BLOCK);

	return round_up(VD_MD_BLOCK + db + journal, 1 << 20);
}

static void layout(uint64_t size, struct region regions[2])
{
	uint64_t usable = size - VD_MD_BLOCK;
	/* The journal gets a little more than half: it frames every page it holds. */
	uint64_t db = usable / 2 / VD_MD_BLOCK * VD_MD_BLOCK - 16 * VD_MD_BLOCK;

	memset(regions, 0, 2 * sizeof(*regions));
	regions[VD_MD_DB].offset = VD_MD_BLOCK;
	regions[VD_MD_DB].capacity = db;
	regions[VD_MD_JOURNAL].offset = VD_MD_BLOCK + db;
	regions[VD_MD_JOURNAL].capacity = usable - db;
}

static void encode_header(uint8_t *buf, const uint8_t pool_uuid[16], uint64_t size,
			  const struct region regions[2], uint32_t copy,
			  const struct vd_md_lease *lease)
{
	bool shared = lease && lease->size;
	uint32_t len = shared ? AREA_HEADER_LEN_V2 : AREA_HEADER_LEN_V1;

	memset(buf, 0, VD_MD_BLOCK);
	memcpy(buf, AREA_MAGIC, 8);
	vd_put_be32(buf + 8, shared ? 2 : 1);
	vd_put_be32(buf + 12, len);
	memcpy(buf + 16, pool_uuid, 16);
	vd_put_be64(buf + 32, size);
	vd_put_be64(buf + 40, regions[VD_MD_DB].offset);
	vd_put_be64(buf + 48, regions[VD_MD_DB].capacity);
	vd_put_be64(buf + 56, regions[VD_MD_JOURNAL].offset);
	vd_put_be64(buf + 64, regions[VD_MD_JOURNAL].capacity);
	vd_put_be32(buf + 72, copy);
	if (shared) {
		memcpy(buf + 80, lease->device_uuid, 16);
		vd_put_be64(buf + 96, lease->offset);
		vd_put_be64(buf + 104, lease->size);
		vd_put_be32(buf + 112, lease->sector_size);
	}
	vd_put_be32(buf + len, vd_label_crc32c(0, buf, len));
	for (int i = 0; i < 2; i++) {
		uint8_t *s = buf + SECTOR * (1 + i);

		memcpy(s, REGION_MAGIC, 8);
		vd_put_be32(s + 8, (uint32_t)i);
		vd_put_be32(s + 12, REGION_HEADER_LEN);
		vd_put_be64(s + 16, regions[i].length);
		vd_put_be64(s + 24, regions[i].generation);
		vd_put_be32(s + REGION_HEADER_LEN, vd_label_crc32c(0, s, REGION_HEADER_LEN));
	}
}

/* Checks a header block read from copy `where`; fills pool uuid, size and regions. */
static uint32_t header_len(const uint8_t *buf)
{
	return vd_get_be32(buf + 8) >= 2 ? AREA_HEADER_LEN_V2 : AREA_HEADER_LEN_V1;
}

static bool header_crc_ok(const uint8_t *buf)
{
	uint32_t len = header_len(buf);

	return vd_get_be32(buf + 12) == len && vd_get_be32(buf + len) == vd_label_crc32c(0, buf, len);
}

static int decode_header(const uint8_t *buf, const struct vd_md_copy *where, uint8_t pool_uuid[16],
			 struct region regions[2], struct vd_md_lease *ret_lease)
{
	static const uint8_t zero[SECTOR];
	const char *what = NULL;
	uint64_t size;

	if (memcmp(buf, zero, SECTOR) == 0)
		what = "is blank (its header was zeroed)";
	else if (memcmp(buf, AREA_MAGIC, 8) != 0)
		what = "carries no metadata area header (overwritten?)";
	else if (vd_get_be32(buf + 8) > AREA_VERSION)
		return vd_err(-EPROTONOSUPPORT, "the metadata area on %s (at %" PRIu64 ") is of a "
				"newer xenvd; upgrade xenvd", where->path, where->offset);
	else if (!header_crc_ok(buf))
		what = "has a damaged header (bad checksum)";
	if (what)
		goto bad;
	memcpy(pool_uuid, buf + 16, 16);
	memset(ret_lease, 0, sizeof(*ret_lease));
	if (vd_get_be32(buf + 8) >= 2) {
		memcpy(ret_lease->device_uuid, buf + 80, 16);
		ret_lease->offset = vd_get_be64(buf + 96);
		ret_lease->size = vd_get_be64(buf + 104);
		ret_lease->sector_size = vd_get_be32(buf + 112);
		if (!ret_lease->size ||
		    (ret_lease->sector_size != 512 && ret_lease->sector_size != 4096)) {
			what = "has an impossible lease area";
			goto bad;
		}
	}
	size = vd_get_be64(buf + 32);
	regions[VD_MD_DB].offset = vd_get_be64(buf + 40);
	regions[VD_MD_DB].capacity = vd_get_be64(buf + 48);
	regions[VD_MD_JOURNAL].offset = vd_get_be64(buf + 56);
	regions[VD_MD_JOURNAL].capacity = vd_get_be64(buf + 64);
	if (size != where->size || vd_get_be32(buf + 72) != where->copy) {
		what = "does not match its device label (size or copy number)";
		goto bad;
	}
	for (int i = 0; i < 2; i++) {
		const uint8_t *s = buf + SECTOR * (1 + i);

		if (memcmp(s, REGION_MAGIC, 8) != 0 || vd_get_be32(s + 8) != (uint32_t)i ||
		    vd_get_be32(s + 12) != REGION_HEADER_LEN ||
		    vd_get_be32(s + REGION_HEADER_LEN) != vd_label_crc32c(0, s, REGION_HEADER_LEN)) {
			what = i ? "has a damaged journal region header (bad checksum)"
				 : "has a damaged database region header (bad checksum)";
			goto bad;
		}
		regions[i].length = vd_get_be64(s + 16);
		regions[i].generation = vd_get_be64(s + 24);
		regions[i].dirty = false;
		if (regions[i].offset < VD_MD_BLOCK || regions[i].offset % VD_MD_BLOCK ||
		    regions[i].capacity > size || regions[i].offset > size - regions[i].capacity) {
			what = "has an impossible layout";
			goto bad;
		}
		if (regions[i].length > regions[i].capacity) {
			what = i ? "has a journal longer than its region (truncated journal)"
				 : "has a database longer than its region (truncated database)";
			goto bad;
		}
	}
	return 0;
bad:
	return vd_err(-EBADMSG, "the metadata area on %s (at %" PRIu64 ") %s; the pool's "
			"database cannot be read from it. It is not re-initialised: restore it, or "
			"import the pool from its other copy with 'xl-vd pool-import'",
		      where->path, where->offset, what);
}

int vd_mdarea_init(int fd, uint64_t offset, uint64_t size, const uint8_t pool_uuid[16],
		   uint32_t copy)
{
	struct region regions[2];
	uint8_t buf[VD_MD_BLOCK];
	int r;

	if (size < 4 * VD_MD_BLOCK || size % VD_MD_BLOCK)
		return -EINVAL;
	layout(size, regions);
	encode_header(buf, pool_uuid, size, regions, copy, NULL);
	/* The first block of the database region is zeroed too: a stale database left there
	 * by an earlier pool must not be taken for this one's. */
	r = vd_pwrite_all(fd, buf, sizeof(buf), offset);
	if (r == 0) {
		memset(buf, 0, sizeof(buf));
		r = vd_pwrite_all(fd, buf, sizeof(buf), offset + regions[VD_MD_DB].offset);
	}
	if (r == 0 && fdatasync(fd) < 0)
		r = -errno;
	return r;
}

bool vd_mdarea_probe(const char *path, uint64_t offset, const uint8_t pool_uuid[16])
{
	uint8_t buf[SECTOR];
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	return fd >= 0 && pread(fd, buf, sizeof(buf), (off_t)offset) == (ssize_t)sizeof(buf) &&
	       memcmp(buf, AREA_MAGIC, 8) == 0 && memcmp(buf + 16, pool_uuid, 16) == 0 &&
	       header_crc_ok(buf);
}

static bool dropped(struct vd_mdarea *a)
{
	if (a->drop_after < 0)
		return false;
	if (a->drop_after == 0)
		return true;
	a->drop_after--;
	return false;
}

static int copy_pread(struct vd_mdarea *a, struct copy *c, void *buf, size_t len, uint64_t off)
{
	a->stats.reads++;
	return vd_pread_all(c->fd, buf, len, c->where.offset + off);
}

/* One write to every copy. */
static int all_pwrite(struct vd_mdarea *a, const void *buf, size_t len, uint64_t off)
{
	for (size_t i = 0; i < a->n; i++) {
		int r;

		a->stats.writes++;
		if (dropped(a))
			continue;
		r = vd_pwrite_all(a->copies[i].fd, buf, len, a->copies[i].where.offset + off);
		if (r < 0)
			return vd_err(r, "cannot write the metadata area on %s: %m",
				      a->copies[i].where.path);
	}
	return 0;
}

static int all_flush(struct vd_mdarea *a)
{
	for (size_t i = 0; i < a->n; i++) {
		a->stats.flushes++;
		if (a->drop_after == 0)
			continue;
		if (fdatasync(a->copies[i].fd) < 0)
			return vd_err(-errno, "cannot flush the metadata area on %s: %m",
				      a->copies[i].where.path);
	}
	return 0;
}

static int bounce(struct vd_mdarea *a, size_t len)
{
	void *p;

	if (len <= a->bounce_size)
		return 0;
	len = round_up(len, 64 * VD_MD_BLOCK);
	if (posix_memalign(&p, VD_MD_BLOCK, len) != 0)
		return -ENOMEM;
	free(a->bounce);
	a->bounce = p;
	a->bounce_size = len;
	return 0;
}

static int write_header(struct vd_mdarea *a)
{
	int r = bounce(a, VD_MD_BLOCK);

	if (r < 0)
		return r;
	for (int i = 0; i < 2; i++)
		if (a->regions[i].dirty)
			a->regions[i].generation++;
	for (size_t i = 0; i < a->n; i++) {
		encode_header(a->bounce, a->pool_uuid, a->copies[i].where.size, a->regions,
			      a->copies[i].where.copy, &a->lease);
		a->stats.writes++;
		if (dropped(a))
			continue;
		r = vd_pwrite_all(a->copies[i].fd, a->bounce, VD_MD_BLOCK,
				  a->copies[i].where.offset);
		if (r < 0)
			return vd_err(r, "cannot write the metadata area header on %s: %m",
				      a->copies[i].where.path);
	}
	a->regions[0].dirty = a->regions[1].dirty = false;
	return 0;
}

static void drop_journal_cache(struct vd_mdarea *a)
{
	for (size_t i = 0; i < a->nblocks; i++)
		free(a->blocks[i]);
	free(a->blocks);
	free(a->block_dirty);
	a->blocks = NULL;
	a->block_dirty = NULL;
	a->nblocks = 0;
}

static int read_header_block(struct vd_mdarea *a, struct copy *c, uint8_t pool_uuid[16],
			     struct region regions[2], struct vd_md_lease *ret_lease)
{
	int r = bounce(a, VD_MD_BLOCK);

	if (r < 0)
		return r;
	r = copy_pread(a, c, a->bounce, VD_MD_BLOCK, 0);
	if (r == -ENODATA)
		return vd_err(-EBADMSG, "the metadata area on %s (at %" PRIu64 ") lies past the "
				"end of the device (truncated?)", c->where.path, c->where.offset);
	if (r < 0)
		return vd_err(r, "cannot read the metadata area on %s: %m", c->where.path);
	return decode_header(a->bounce, &c->where, pool_uuid, regions, ret_lease);
}

int vd_mdarea_refresh(struct vd_mdarea *a)
{
	uint8_t uuid[16];
	int r;

	drop_journal_cache(a);
	r = read_header_block(a, &a->copies[0], uuid, a->regions, &a->lease);
	if (r == 0 && memcmp(uuid, a->pool_uuid, 16) != 0)
		r = vd_err(-ESTALE, "the metadata area on %s now belongs to another pool",
			   a->copies[0].where.path);
	return r;
}

static int open_copy(const struct vd_md_copy *where, bool readonly, struct copy *ret)
{
	int flags = (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	struct stat st;
	int fd;

	fd = open(where->path, flags | O_DIRECT);
	if (fd < 0 && errno == EINVAL) {
		/* tmpfs and a few others have no O_DIRECT: only files live there, and only
		 * tests keep an on-pool database in a file. */
		fd = open(where->path, flags);
		if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
			close(fd);
			errno = EINVAL;
			fd = -1;
		}
	}
	if (fd < 0)
		return vd_err(-errno, "cannot open %s, which carries the pool's database: %m",
			      where->path);
	ret->fd = fd;
	ret->where = *where;
	ret->where.identity = NULL;
	ret->where.path = strdup(where->path);
	if (!ret->where.path) {
		close(fd);
		return -ENOMEM;
	}
	return 0;
}

int vd_mdarea_open(const uint8_t pool_uuid[16], const struct vd_md_copy *copies, size_t n,
		   bool readonly, struct vd_mdarea **ret)
{
	struct vd_mdarea *a = calloc(1, sizeof(*a));
	_cleanup_free_ char *first_error = NULL;
	size_t len = 0;
	int r = 0;

	if (!a)
		return -ENOMEM;
	a->drop_after = -1;
	a->readonly = readonly;
	memcpy(a->pool_uuid, pool_uuid, 16);
	for (size_t i = 0; i < n && i < 2; i++) {
		struct copy c = { .fd = -EBADF };
		struct region regions[2];
		struct vd_md_lease lease;
		uint8_t uuid[16];

		r = open_copy(&copies[i], readonly, &c);
		if (r == 0) {
			r = read_header_block(a, &c, uuid, regions, &lease);
			if (r == 0 && memcmp(uuid, pool_uuid, 16) != 0)
				r = vd_err(-ESTALE, "the metadata area on %s belongs to another "
						    "pool", c.where.path);
			if (r < 0) {
				close(c.fd);
				free(c.where.path);
			}
		}
		if (r < 0) {
			if (!first_error)
				first_error = strdup(vd_errmsg());
			if (n > 1)
				vd_warn("%s; using the pool's other metadata copy", vd_errmsg());
			continue;
		}
		if (a->n == 1 && regions[VD_MD_JOURNAL].generation !=
				     a->regions[VD_MD_JOURNAL].generation) {
			/* Every write transaction moves the journal's generation: copies that
			 * disagree were not kept in step (a crash between the two copies' writes,
			 * or one copy was away). The newer is read; the older is brought in step
			 * (vd_mdarea_resync) before anything is written. */
			a->out_of_step = true;
			if (regions[VD_MD_JOURNAL].generation >
			    a->regions[VD_MD_JOURNAL].generation) {
				a->copies[1] = a->copies[0];
				a->copies[0] = c;
				memcpy(a->regions, regions, sizeof(regions));
				a->lease = lease;
				a->n = 2;
				continue;
			}
		}
		if (a->n == 0) {
			memcpy(a->regions, regions, sizeof(regions));
			a->lease = lease;
		}
		a->copies[a->n++] = c;
	}
	if (a->n == 0) {
		r = vd_err(r < 0 ? r : -ENODEV, "%s", first_error ? first_error :
			   "no copy of the metadata area could be opened");
		vd_mdarea_close(a);
		return r;
	}
	for (size_t i = 0; i < a->n; i++)
		len += (size_t)snprintf(a->describe + len, sizeof(a->describe) - len, "%s%s@%" PRIu64,
					i ? " + " : "", a->copies[i].where.path,
					a->copies[i].where.offset);
	*ret = a;
	return 0;
}

/* Writes copies[0]'s database region and header block (journal empty) to dst, flushed. */
static int clone_into(struct vd_mdarea *a, struct copy *dst)
{
	uint64_t len = round_up(a->regions[VD_MD_DB].length, VD_MD_BLOCK), done = 0;
	struct region regions[2];
	size_t n;
	int r = 0;

	while (done < len) {
		n = (size_t)MIN(len - done, (uint64_t)(1 << 20));
		r = bounce(a, n);
		if (r == 0)
			r = copy_pread(a, &a->copies[0], a->bounce, n,
				       a->regions[VD_MD_DB].offset + done);
		if (r == 0) {
			a->stats.writes++;
			r = vd_pwrite_all(dst->fd, a->bounce, n,
					  dst->where.offset + a->regions[VD_MD_DB].offset + done);
		}
		if (r < 0)
			return r;
		done += n;
	}
	memcpy(regions, a->regions, sizeof(regions));
	regions[VD_MD_JOURNAL].length = 0;
	r = bounce(a, VD_MD_BLOCK);
	if (r < 0)
		return r;
	encode_header(a->bounce, a->pool_uuid, dst->where.size, regions, dst->where.copy,
		      &a->lease);
	a->stats.writes++;
	r = vd_pwrite_all(dst->fd, a->bounce, VD_MD_BLOCK, dst->where.offset);
	if (r == 0) {
		a->stats.flushes++;
		r = fdatasync(dst->fd) < 0 ? -errno : 0;
	}
	return r;
}

int vd_mdarea_add_copy(struct vd_mdarea *a, const struct vd_md_copy *where)
{
	struct copy c = { .fd = -EBADF };
	int r;

	if (a->n >= 2)
		return vd_err(-EEXIST, "the pool's database already has two copies");
	if (where->size < vd_mdarea_capacity(a, VD_MD_DB) + vd_mdarea_capacity(a, VD_MD_JOURNAL) +
			      VD_MD_BLOCK)
		return vd_err(-EINVAL, "a copy of the metadata area needs %" PRIu64 " bytes",
			      a->copies[0].where.size);
	r = open_copy(where, false, &c);
	if (r < 0)
		return r;
	/* Its header may be damaged: only the generation of a good one would say more. */
	c.where.size = where->size;
	r = clone_into(a, &c);
	if (r < 0) {
		close(c.fd);
		free(c.where.path);
		return vd_err(r, "cannot copy the pool's database to %s: %m", where->path);
	}
	a->copies[a->n++] = c;
	snprintf(a->describe + strlen(a->describe), sizeof(a->describe) - strlen(a->describe),
		 " + %s@%" PRIu64, where->path, where->offset);
	return 0;
}

bool vd_mdarea_out_of_step(const struct vd_mdarea *a)
{
	return a->out_of_step;
}

int vd_mdarea_resync(struct vd_mdarea *a)
{
	struct vd_md_lease other_lease;
	struct region other[2];
	uint8_t uuid[16];
	int r;

	if (!a->out_of_step || a->n < 2)
		return 0;
	/* Under the write lock now: the copies may have come in step meanwhile (what looked
	 * out of step was another writer between its two copies' writes). */
	r = vd_mdarea_refresh(a);
	if (r == 0)
		r = read_header_block(a, &a->copies[1], uuid, other, &other_lease);
	if (r < 0)
		return r;
	if (other[VD_MD_JOURNAL].generation != a->regions[VD_MD_JOURNAL].generation ||
	    other[VD_MD_DB].length != a->regions[VD_MD_DB].length) {
		r = clone_into(a, &a->copies[1]);
		if (r < 0)
			return vd_err(r, "cannot bring the pool database's copy on %s in step: %m",
				      a->copies[1].where.path);
		vd_info("the pool database's copy on %s was behind the one on %s: copied again",
			a->copies[1].where.path, a->copies[0].where.path);
	}
	a->out_of_step = false;
	return 0;
}

void vd_mdarea_close(struct vd_mdarea *a)
{
	if (!a)
		return;
	drop_journal_cache(a);
	for (size_t i = 0; i < a->n; i++) {
		close(a->copies[i].fd);
		free(a->copies[i].where.path);
	}
	free(a->bounce);
	free(a);
}

void vd_mdarea_pool_uuid(const struct vd_mdarea *a, uint8_t ret[16])
{
	memcpy(ret, a->pool_uuid, 16);
}

size_t vd_mdarea_copies(const struct vd_mdarea *a)
{
	return a->n;
}

bool vd_mdarea_has_copy(const struct vd_mdarea *a, uint32_t copy)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->copies[i].where.copy == copy)
			return true;
	return false;
}

const char *vd_mdarea_describe(const struct vd_mdarea *a)
{
	return a->describe;
}

uint64_t vd_mdarea_length(const struct vd_mdarea *a, enum vd_md_region r)
{
	return a->regions[r].length;
}

uint64_t vd_mdarea_capacity(const struct vd_mdarea *a, enum vd_md_region r)
{
	return a->regions[r].capacity;
}

const struct vd_md_stats *vd_mdarea_stats(const struct vd_mdarea *a)
{
	return &a->stats;
}

void vd_mdarea_drop_writes_after(struct vd_mdarea *a, int64_t n)
{
	a->drop_after = n;
}

/* Reads whole blocks [first, first+count) of a region from the devices into the bounce
 * buffer, with the journal's cached blocks laid over them. */
static int read_blocks(struct vd_mdarea *a, enum vd_md_region r, uint64_t first, uint64_t count)
{
	struct region *reg = &a->regions[r];
	int ret = bounce(a, count * VD_MD_BLOCK);
	uint64_t i = 0;

	if (ret < 0)
		return ret;
	while (i < count) {
		uint64_t b = first + i, run = 0;

		if (r == VD_MD_JOURNAL && b < a->nblocks && a->blocks[b]) {
			memcpy(a->bounce + i * VD_MD_BLOCK, a->blocks[b], VD_MD_BLOCK);
			i++;
			continue;
		}
		while (i + run < count &&
		       !(r == VD_MD_JOURNAL && b + run < a->nblocks && a->blocks[b + run]))
			run++;
		ret = copy_pread(a, &a->copies[0], a->bounce + i * VD_MD_BLOCK,
				 run * VD_MD_BLOCK, reg->offset + b * VD_MD_BLOCK);
		if (ret < 0)
			return vd_err(ret == -ENODATA ? -EIO : ret, "cannot read the metadata area "
				      "on %s: %m", a->copies[0].where.path);
		i += run;
	}
	return 0;
}

int vd_mdarea_read(struct vd_mdarea *a, enum vd_md_region r, void *buf, size_t len,
		   uint64_t off)
{
	struct region *reg = &a->regions[r];
	size_t avail = off >= reg->length ? 0 : (size_t)MIN((uint64_t)len, reg->length - off);
	uint64_t first = off / VD_MD_BLOCK;
	int ret;

	if (avail > 0) {
		uint64_t last = (off + avail - 1) / VD_MD_BLOCK;

		ret = read_blocks(a, r, first, last - first + 1);
		if (ret < 0)
			return ret;
		memcpy(buf, a->bounce + (off - first * VD_MD_BLOCK), avail);
	}
	if (avail < len) {
		memset((uint8_t *)buf + avail, 0, len - avail);
		return -ENODATA;
	}
	return 0;
}

static int cache_block(struct vd_mdarea *a, uint64_t b, bool need_old)
{
	if (b >= a->nblocks) {
		size_t n = MAX((size_t)b + 1, a->nblocks * 2);
		uint8_t **blocks = realloc(a->blocks, n * sizeof(*blocks));
		bool *dirty;

		if (!blocks)
			return -ENOMEM;
		a->blocks = blocks;
		dirty = realloc(a->block_dirty, n * sizeof(*dirty));
		if (!dirty)
			return -ENOMEM;
		a->block_dirty = dirty;
		memset(a->blocks + a->nblocks, 0, (n - a->nblocks) * sizeof(*blocks));
		memset(a->block_dirty + a->nblocks, 0, (n - a->nblocks) * sizeof(*dirty));
		a->nblocks = n;
	}
	if (a->blocks[b])
		return 0;
	a->blocks[b] = calloc(1, VD_MD_BLOCK);
	if (!a->blocks[b])
		return -ENOMEM;
	if (need_old && b * VD_MD_BLOCK < a->regions[VD_MD_JOURNAL].length) {
		int r = read_blocks(a, VD_MD_JOURNAL, b, 1);

		if (r < 0)
			return r;
		memcpy(a->blocks[b], a->bounce, VD_MD_BLOCK);
	}
	return 0;
}

static int write_journal(struct vd_mdarea *a, const uint8_t *buf, size_t len, uint64_t off)
{
	while (len > 0) {
		uint64_t b = off / VD_MD_BLOCK, in = off % VD_MD_BLOCK;
		size_t n = (size_t)MIN((uint64_t)len, VD_MD_BLOCK - in);
		int r = cache_block(a, b, in != 0 || n != VD_MD_BLOCK);

		if (r < 0)
			return r;
		memcpy(a->blocks[b] + in, buf, n);
		a->block_dirty[b] = true;
		buf += n;
		off += n;
		len -= n;
	}
	return 0;
}

static int write_db(struct vd_mdarea *a, const uint8_t *buf, size_t len, uint64_t off)
{
	struct region *reg = &a->regions[VD_MD_DB];
	uint64_t first = off / VD_MD_BLOCK, last = (off + len - 1) / VD_MD_BLOCK;
	uint64_t count = last - first + 1;
	int r;

	if (off % VD_MD_BLOCK || len % VD_MD_BLOCK) {
		/* Read-modify-write of the edge blocks (SQLite writes whole 4 KiB pages; this is
		 * only for completeness). */
		r = read_blocks(a, VD_MD_DB, first, count);
		if (r < 0)
			return r;
	} else {
		r = bounce(a, len);
		if (r < 0)
			return r;
	}
	memcpy(a->bounce + (off - first * VD_MD_BLOCK), buf, len);
	return all_pwrite(a, a->bounce, count * VD_MD_BLOCK, reg->offset + first * VD_MD_BLOCK);
}

int vd_mdarea_write(struct vd_mdarea *a, enum vd_md_region r, const void *buf, size_t len,
		    uint64_t off)
{
	struct region *reg = &a->regions[r];
	int ret;

	if (a->readonly)
		return -EROFS;
	if (len == 0)
		return 0;
	if (off + len > reg->capacity)
		return vd_err(-ENOSPC, "the pool's metadata area on %s is full (%s region of %" PRIu64
			      " bytes); the pool outgrew what format sized it for",
			      a->copies[0].where.path, r == VD_MD_DB ? "database" : "journal",
			      reg->capacity);
	ret = r == VD_MD_JOURNAL ? write_journal(a, buf, len, off) : write_db(a, buf, len, off);
	if (ret < 0)
		return ret;
	if (off + len > reg->length) {
		reg->length = off + len;
		reg->dirty = true;
	}
	return 0;
}

int vd_mdarea_truncate(struct vd_mdarea *a, enum vd_md_region r, uint64_t len)
{
	struct region *reg = &a->regions[r];

	if (a->readonly)
		return -EROFS;
	if (len > reg->capacity)
		return -ENOSPC;
	if (r == VD_MD_JOURNAL) {
		/* An emptied journal also loses its first block (SQLite's journal header): the
		 * region keeps older transactions' records, which must never look hot. */
		if (len == 0)
			a->zero_journal_head = true;
		for (uint64_t b = round_up(len, VD_MD_BLOCK) / VD_MD_BLOCK; b < a->nblocks; b++) {
			free(a->blocks[b]);
			a->blocks[b] = NULL;
			a->block_dirty[b] = false;
		}
	}
	if (reg->length != len) {
		reg->length = len;
		reg->dirty = true;
	}
	return 0;
}

static int flush_journal_cache(struct vd_mdarea *a)
{
	struct region *reg = &a->regions[VD_MD_JOURNAL];
	uint64_t b = 0;

	while (b < a->nblocks) {
		uint64_t run = 0;
		int r;

		if (!a->block_dirty[b]) {
			b++;
			continue;
		}
		while (b + run < a->nblocks && a->block_dirty[b + run])
			run++;
		r = bounce(a, run * VD_MD_BLOCK);
		if (r < 0)
			return r;
		for (uint64_t i = 0; i < run; i++) {
			memcpy(a->bounce + i * VD_MD_BLOCK, a->blocks[b + i], VD_MD_BLOCK);
			a->block_dirty[b + i] = false;
		}
		r = all_pwrite(a, a->bounce, run * VD_MD_BLOCK, reg->offset + b * VD_MD_BLOCK);
		if (r < 0)
			return r;
		b += run;
	}
	return 0;
}

int vd_mdarea_sync(struct vd_mdarea *a, enum vd_md_region r)
{
	int ret = 0;

	if (a->readonly)
		return 0;
	if (r == VD_MD_JOURNAL && a->zero_journal_head) {
		/* Unless a new journal header is about to be written there anyway. */
		if (!(a->nblocks > 0 && a->blocks[0] && a->block_dirty[0])) {
			ret = bounce(a, VD_MD_BLOCK);
			if (ret == 0) {
				memset(a->bounce, 0, VD_MD_BLOCK);
				ret = all_pwrite(a, a->bounce, VD_MD_BLOCK,
						 a->regions[VD_MD_JOURNAL].offset);
			}
		}
		if (ret == 0)
			a->zero_journal_head = false;
	}
	if (ret == 0 && r == VD_MD_JOURNAL)
		ret = flush_journal_cache(a);
	/* Data first, then the header that says how long it is: the flush after covers both
	 * (a header that lands first only ever lengthens a region over blocks whose content
	 * SQLite's own journal protocol does not yet rely on). */
	if (ret == 0 && (a->regions[0].dirty || a->regions[1].dirty))
		ret = write_header(a);
	if (ret == 0)
		ret = all_flush(a);
	return ret;
}

/* ---- locator ---- */

bool vd_locator_is(const char *path)
{
	char buf[sizeof(VD_LOCATOR_MAGIC)];
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	return n == (ssize_t)sizeof(buf) - 1 && memcmp(buf, VD_LOCATOR_MAGIC, n) == 0;
}

void vd_locator_dispose(struct vd_locator *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->copies[i].path);
		free(l->copies[i].identity);
		l->copies[i].path = NULL;
		l->copies[i].identity = NULL;
	}
	l->n = 0;
}

int vd_locator_read(const char *path, struct vd_locator *ret)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	struct vd_locator l = { 0 };
	char line[4200];
	bool have_pool = false;
	unsigned lineno = 0;

	if (!f)
		return vd_err(-errno, "cannot read %s: %m", path);
	while (fgets(line, sizeof(line), f)) {
		char uuid[64], dev[64], where[4097];
		uint64_t off, size;
		unsigned copy;

		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (sscanf(line, "pool %63s", uuid) == 1 && vd_uuid_parse(uuid, l.pool_uuid) == 0) {
			have_pool = true;
			continue;
		}
		if (sscanf(line, "identity %u %4096[^\n]", &copy, where) == 2) {
			for (size_t i = 0; i < l.n; i++)
				if (l.copies[i].copy == copy && !l.copies[i].identity)
					l.copies[i].identity = strdup(where);
			continue;
		}
		if (sscanf(line, "copy %u %63s %" SCNu64 " %" SCNu64 " %4096[^\n]", &copy, dev, &off,
			   &size, where) == 5 && (copy == 1 || copy == 2) && l.n < 2 &&
		    vd_uuid_parse(dev, l.copies[l.n].device_uuid) == 0) {
			l.copies[l.n].copy = copy;
			l.copies[l.n].offset = off;
			l.copies[l.n].size = size;
			l.copies[l.n].path = strdup(where);
			if (!l.copies[l.n].path) {
				vd_locator_dispose(&l);
				return -ENOMEM;
			}
			l.n++;
			continue;
		}
		vd_locator_dispose(&l);
		return vd_err(-EBADMSG, "%s:%u: not a xenvd locator line; this file says where "
				"the pool's database lives: restore it with 'xl-vd pool-import "
				"DEVICE'", path, lineno);
	}
	if (!have_pool || l.n == 0) {
		vd_locator_dispose(&l);
		return vd_err(-EBADMSG, "%s is an incomplete xenvd locator; restore it with "
				"'xl-vd pool-import DEVICE'", path);
	}
	*ret = l;
	return 0;
}

int vd_locator_write(const char *path, const struct vd_locator *l)
{
	_cleanup_free_ char *tmp = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	char uuid[37];
	int fd, r;

	if (asprintf(&tmp, "%s.locator-new.%d", path, (int)getpid()) < 0)
		return -ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return vd_err(-errno, "cannot write %s: %m", tmp);
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -errno;
	}
	vd_uuid_unparse(l->pool_uuid, uuid);
	fprintf(f, "%s\n# This dom0's pool keeps its database on its devices; 'xl-vd pool-list' "
		   "says where.\n# Rewritten by xl-vd format and pool-import; do not edit.\n"
		   "pool %s\n", VD_LOCATOR_MAGIC, uuid);
	for (size_t i = 0; i < l->n; i++) {
		vd_uuid_unparse(l->copies[i].device_uuid, uuid);
		_cleanup_free_ char *identity = NULL;

		fprintf(f, "copy %u %s %" PRIu64 " %" PRIu64 " %s\n", l->copies[i].copy, uuid,
			l->copies[i].offset, l->copies[i].size, l->copies[i].path);
		/* What a disk found by its label must also show to be taken for this copy's. */
		if (l->copies[i].identity)
			identity = strdup(l->copies[i].identity);
		else
			(void)vd_pool_device_identity(l->copies[i].path, &identity);
		if (identity)
			fprintf(f, "identity %u %s\n", l->copies[i].copy, identity);
	}
	if (fflush(f) != 0 || fsync(fileno(f)) < 0) {
		r = vd_err(-errno, "cannot write %s: %m", tmp);
		unlink(tmp);
		return r;
	}
	if (rename(tmp, path) < 0) {
		r = vd_err(-errno, "cannot rename %s to %s: %m", tmp, path);
		unlink(tmp);
		return r;
	}
	{
		_cleanup_free_ char *copy = strdup(path);
		_cleanup_close_ int dfd = copy ? open(dirname(copy), O_RDONLY | O_DIRECTORY |
						      O_CLOEXEC) : -1;

		if (dfd >= 0)
			(void)fsync(dfd);
	}
	return 0;
}

bool vd_mdarea_lease(const struct vd_mdarea *a, struct vd_md_lease *ret)
{
	if (!a->lease.size)
		return false;
	if (ret)
		*ret = a->lease;
	return true;
}

int vd_mdarea_set_lease(struct vd_mdarea *a, const struct vd_md_lease *lease)
{
	int r;

	if (a->readonly)
		return -EROFS;
	a->lease = *lease;
	r = write_header(a);
	if (r == 0)
		r = all_flush(a);
	return r;
}
