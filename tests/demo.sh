#!/bin/sh
# The README's demo: an embedded pool on a file-backed device with its own database in a work
# directory (no Xen, no /etc needed). Formats, creates, lists and shows VDs with their extent
# maps. Usage: demo.sh [XL-VD]
set -eu
XLVD=${1:-xl-vd}
WORK=${XENVD_DEMO_DIR:-$(mktemp -d /tmp/xenvd-demo.XXXXXX)}
export XENVD_DB="$WORK/xenvd.db"
export XENVD_CONF="$WORK/xenvd.conf"

run() {
	printf '\n$ xl-vd %s\n' "$*"
	"$XLVD" "$@"
}

echo "xenvd demo in $WORK (database $XENVD_DB)"
truncate -s 32G "$WORK/pool0.img"
truncate -s 8G "$WORK/pool1.img"
run format "$WORK/pool0.img" --extent-size 64M
run format "$WORK/pool1.img" --extent-size 64M
run create 20G --name web1
run create 1G --expire 3600 --name scratch
run create 500M 2>&1
run list
run show web1
run show scratch
run delete scratch
run gc
run pool-list
run check
printf '\nIn a guest config:  disk = [ '"'"'vdev=xvda,access=rw,script=block-vd,target=vd:1'"'"' ]\n'
[ -n "${XENVD_DEMO_DIR:-}" ] || rm -rf "$WORK"
