/* xl-vd subcommands that put VDs in front of users and guests: map/unmap (the VD as
 * /dev/mapper/vd-<id> in dom0), import (a raw image into a VD), attach/detach (a VD to a running
 * domain through libxl, as `xl block-attach` would with script=block-vd).
 */
#ifndef XLVD_DM_H
#define XLVD_DM_H

#include "xl-vd.h"

int cmd_map(struct xlvd_ctx *ctx, int argc, char **argv);
int cmd_unmap(struct xlvd_ctx *ctx, int argc, char **argv);
int cmd_import(struct xlvd_ctx *ctx, int argc, char **argv);
int cmd_attach(struct xlvd_ctx *ctx, int argc, char **argv);
int cmd_detach(struct xlvd_ctx *ctx, int argc, char **argv);

#endif
