#include <string.h>
#include <sys/file.h>

#include "base/error.h"
#include "pool/label.h"

/* Layout (big-endian), offsets in bytes:
 *   0 magic[8]  8 version u32  12 header_len u32  16 pool_uuid[16]  32 device_uuid[16]
 *  48 extent_size u64  56 data_offset u64  64 extent_count u64  72 device_size u64
 *  80 created s64
 * version 1: 88 crc32c u32 over bytes 0..87;
 * version 2: 88 md_offset u64  96 md_size u64  104 md_copy u32  108 reserved u32
 *            112 crc32c u32 over bytes 0..111.
 * The rest of the 4 KiB is zero. */
#define LABEL_HEADER_LEN_V1 88
#define LABEL_HEADER_LEN_V2 112

uint32_t vd_label_crc32c(uint32_t crc, const void *buf, size_t len)
{
	static uint32_t table[256];
	static bool ready;
	const uint8_t *p = buf;

	if (!ready) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;

			for (int k = 0; k < 8; k++)
				c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
			table[i] = c;
		}
		ready = true;
	}
	crc = ~crc;
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

void vd_label_encode(const struct vd_label *l, uint8_t buf[VD_LABEL_SIZE])
{
	/* Only a device carrying a metadata area needs version 2. */
	uint32_t version = l->md_copy ? 2 : 1;

	if (l->version > VD_LABEL_VERSION)
		version = l->version; /* only to test that a newer label is refused */
	uint32_t header_len = version == 2 ? LABEL_HEADER_LEN_V2 : LABEL_HEADER_LEN_V1;

	memset(buf, 0, VD_LABEL_SIZE);
	memcpy(buf, VD_LABEL_MAGIC, 8);
	vd_put_be32(buf + 8, version);
	vd_put_be32(buf + 12, header_len);
	memcpy(buf + 16, l->pool_uuid, 16);
	memcpy(buf + 32, l->device_uuid, 16);
	vd_put_be64(buf + 48, l->extent_size);
	vd_put_be64(buf + 56, l->data_offset);
	vd_put_be64(buf + 64, l->extent_count);
	vd_put_be64(buf + 72, l->device_size);
	vd_put_be64(buf + 80, (uint64_t)l->created);
	if (version >= 2) {
		vd_put_be64(buf + 88, l->md_offset);
		vd_put_be64(buf + 96, l->md_size);
		vd_put_be32(buf + 104, l->md_copy);
	}
	vd_put_be32(buf + header_len, vd_label_crc32c(0, buf, header_len));
}

int vd_label_decode(const uint8_t buf[VD_LABEL_SIZE], struct vd_label *ret)
{
	struct vd_label l = { 0 };
	uint32_t header_len;

	if (memcmp(buf, VD_LABEL_MAGIC, 8) != 0)
		return -ENOMSG;
	l.version = vd_get_be32(buf + 8);
	if (l.version > VD_LABEL_VERSION)
		return -EPROTONOSUPPORT;
	header_len = vd_get_be32(buf + 12);
	if (l.version == 0 ||
	    header_len != (l.version == 1 ? LABEL_HEADER_LEN_V1 : LABEL_HEADER_LEN_V2))
		return -EBADMSG;
	if (vd_get_be32(buf + header_len) != vd_label_crc32c(0, buf, header_len))
		return -EBADMSG;
	memcpy(l.pool_uuid, buf + 16, 16);
	memcpy(l.device_uuid, buf + 32, 16);
	l.extent_size = vd_get_be64(buf + 48);
	l.data_offset = vd_get_be64(buf + 56);
	l.extent_count = vd_get_be64(buf + 64);
	l.device_size = vd_get_be64(buf + 72);
	l.created = (int64_t)vd_get_be64(buf + 80);
	if (l.version >= 2) {
		l.md_offset = vd_get_be64(buf + 88);
		l.md_size = vd_get_be64(buf + 96);
		l.md_copy = vd_get_be32(buf + 104);
		/* The area lies past the label, inside the device, and off the extents. */
		if (l.md_copy < 1 || l.md_copy > 2 || l.md_offset < VD_LABEL_SIZE ||
		    l.md_offset % 4096 || l.md_size < 3 * 4096 || l.md_size % 4096 ||
		    l.md_size > l.device_size || l.md_offset > l.device_size - l.md_size ||
		    (l.md_offset < l.data_offset + l.extent_count * l.extent_size &&
		     l.md_offset + l.md_size > l.data_offset))
			return -EBADMSG;
	}
	if (l.extent_size == 0 || l.extent_size % 512 || l.data_offset < VD_LABEL_SIZE ||
	    l.extent_count == 0 || l.extent_count > (l.device_size - l.data_offset) / l.extent_size ||
	    l.data_offset > l.device_size)
		return -EBADMSG;
	*ret = l;
	return 0;
}

int vd_label_read(int fd, struct vd_label *ret)
{
	uint8_t buf[VD_LABEL_SIZE];
	int r;

	if (flock(fd, LOCK_EX) < 0)
		return -errno;
	r = vd_pread_all(fd, buf, sizeof(buf), 0);
	flock(fd, LOCK_UN);
	if (r == -ENODATA)
		return -ENOMSG; /* shorter than a label: cannot carry one */
	if (r < 0)
		return r;
	return vd_label_decode(buf, ret);
}

static int write_area(int fd, const uint8_t buf[VD_LABEL_SIZE])
{
	int r;

	if (flock(fd, LOCK_EX) < 0)
		return -errno;
	r = vd_pwrite_all(fd, buf, VD_LABEL_SIZE, 0);
	if (r == 0 && fdatasync(fd) < 0)
		r = -errno;
	flock(fd, LOCK_UN);
	return r;
}

int vd_label_write(int fd, const struct vd_label *l)
{
	uint8_t buf[VD_LABEL_SIZE];

	vd_label_encode(l, buf);
	return write_area(fd, buf);
}

int vd_label_wipe(int fd)
{
	uint8_t buf[VD_LABEL_SIZE] = { 0 };

	return write_area(fd, buf);
}
