/* The on-disk label in the first 4 KiB of every pool device: encoding, decoding, CRC32C, and
 * reading/writing it under flock(LOCK_EX). It does not decide what a label means for the pool
 * (pool.c does) and never touches the database.
 */
#ifndef XENVD_LABEL_H
#define XENVD_LABEL_H

#include "base/util.h"

#define VD_LABEL_SIZE 4096
#define VD_LABEL_MAGIC "XENVD\0LB"
#define VD_LABEL_VERSION 1
/* Extent data starts here: past the label and 1 MiB-aligned for any sector size. */
#define VD_DATA_OFFSET (1024 * 1024)

struct vd_label {
	uint32_t version;
	uint8_t pool_uuid[16];
	uint8_t device_uuid[16];
	uint64_t extent_size;
	uint64_t data_offset;
	uint64_t extent_count;
	uint64_t device_size;
	int64_t created;
};

uint32_t vd_label_crc32c(uint32_t crc, const void *buf, size_t len);

/* Big-endian encoding into a VD_LABEL_SIZE buffer, CRC32C over everything before it. */
void vd_label_encode(const struct vd_label *l, uint8_t buf[VD_LABEL_SIZE]);
/* -ENOMSG: no xenvd label; -EBADMSG: our magic but a bad checksum or impossible fields;
 * -EPROTONOSUPPORT: a label of a newer version (never to be overwritten). */
int vd_label_decode(const uint8_t buf[VD_LABEL_SIZE], struct vd_label *ret);

/* Read / write (O_SYNC-like: fdatasync after) the label, holding flock(LOCK_EX) on fd. */
int vd_label_read(int fd, struct vd_label *ret);
int vd_label_write(int fd, const struct vd_label *l);
/* Overwrites the label area with zeroes (pool-remove). */
int vd_label_wipe(int fd);

#endif
