#include <string.h>
#include <sys/file.h>

#include "base/error.h"
#include "pool/label.h"

/* Layout (big-endian), offsets in bytes:
 *   0 magic[8]  8 version u32  12 header_len u32  16 pool_uuid[16]  32 device_uuid[16]
 *  48 extent_size u64  56 data_offset u64  64 extent_count u64  72 device_size u64
 *  80 created s64  88 crc32c u32 over bytes 0..87; the rest of the 4 KiB is zero. */
#define LABEL_HEADER_LEN 88

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

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

void vd_label_encode(const struct vd_label *l, uint8_t buf[VD_LABEL_SIZE])
{
	memset(buf, 0, VD_LABEL_SIZE);
	memcpy(buf, VD_LABEL_MAGIC, 8);
	put32(buf + 8, l->version ? l->version : VD_LABEL_VERSION);
	put32(buf + 12, LABEL_HEADER_LEN);
	memcpy(buf + 16, l->pool_uuid, 16);
	memcpy(buf + 32, l->device_uuid, 16);
	put64(buf + 48, l->extent_size);
	put64(buf + 56, l->data_offset);
	put64(buf + 64, l->extent_count);
	put64(buf + 72, l->device_size);
	put64(buf + 80, (uint64_t)l->created);
	put32(buf + LABEL_HEADER_LEN, vd_label_crc32c(0, buf, LABEL_HEADER_LEN));
}

int vd_label_decode(const uint8_t buf[VD_LABEL_SIZE], struct vd_label *ret)
{
	struct vd_label l = { 0 };
	uint32_t header_len;

	if (memcmp(buf, VD_LABEL_MAGIC, 8) != 0)
		return -ENOMSG;
	l.version = get32(buf + 8);
	if (l.version > VD_LABEL_VERSION)
		return -EPROTONOSUPPORT;
	header_len = get32(buf + 12);
	if (l.version == 0 || header_len != LABEL_HEADER_LEN)
		return -EBADMSG;
	if (get32(buf + header_len) != vd_label_crc32c(0, buf, header_len))
		return -EBADMSG;
	memcpy(l.pool_uuid, buf + 16, 16);
	memcpy(l.device_uuid, buf + 32, 16);
	l.extent_size = get64(buf + 48);
	l.data_offset = get64(buf + 56);
	l.extent_count = get64(buf + 64);
	l.device_size = get64(buf + 72);
	l.created = (int64_t)get64(buf + 80);
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
