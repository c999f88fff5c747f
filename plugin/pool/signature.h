/* What a device already carries (filesystem, RAID member, partition table), found with
 * libblkid on an open fd, so that format can refuse to destroy it. Reads only.
 */
#ifndef XENVD_SIGNATURE_H
#define XENVD_SIGNATURE_H

#include "base/util.h"

/* 1 and a description ("an ext4 filesystem labelled 'root'", "a gpt partition table") in buf
 * when something is there, 0 when the device looks empty, -errno on error. */
int vd_signature_probe(int fd, char *buf, size_t len);

#endif
