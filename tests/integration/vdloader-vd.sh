#!/bin/sh
# vdloader --vd=ID reads a VD straight from its pool devices (no device-mapper): here a VD
# whose extents span two file-backed pool devices, with its root partition across the seam.
. "$top_srcdir/tests/integration/boot/common.sh"
XLVD=$top_builddir/xl-extensions/xl-vd
[ -x "$XLVD" ] || { echo "SKIP: xl-vd is not built"; exit 77; }
export XENVD_DB="$T/db/xenvd.db" XENVD_CONF="$T/xenvd.conf"
truncate -s 20M "$T/p0.img" "$T/p1.img"
"$XLVD" format "$T/p0.img" --extent-size 4M > /dev/null
"$XLVD" format "$T/p1.img" --extent-size 4M > /dev/null
id=$("$XLVD" create 24M | head -n1)
"$XLVD" show "$id" > "$T/show"
[ "$(grep -c '/p[01].img' "$T/show")" -eq 2 ] || fail "VD $id should span both pool devices: $(cat "$T/show")"
"$XLVD" import "$id" "$IMG/mbr-sepboot.img" > /dev/null 2>&1

# libxl style, with --vd as a bootloader_args entry and no disk path
OUT=$T/bootloader.$DOMID.out
DIR=$T/bootloader.$DOMID.d
mkdir -m "$DIR_MODE" "$DIR"
: > "$OUT"
set +e
"$VDLOADER" $SANDBOX_OPT --output="$OUT" --output-format=simple0 --output-directory="$DIR" \
	--vd="$id" 2> "$T/stderr"
rc=$?
set -e
"$LIBXL_PARSE" "$OUT" > "$T/parsed"
if [ $rc -eq 0 ] && cmp -s "$(parsed kernel)" "$IMG/payload/kernel-b" &&
	cmp -s "$(parsed ramdisk)" "$IMG/payload/initrd-b" &&
	[ "$(parsed args)" = "$(expected mbr-sepboot args)" ]; then
	pass "--vd=$id across two pool devices: kernel, initrd and args"
else
	fail "--vd=$id: rc=$rc $(cat "$T/stderr")"
fi

set +e
"$VDLOADER" $SANDBOX_OPT --dryrun --vd=999 > /dev/null 2> "$T/stderr"
rc=$?
"$VDLOADER" $SANDBOX_OPT --dryrun --vd="$id" "$IMG/gpt.img" > /dev/null 2> "$T/stderr2"
rc2=$?
set -e
[ $rc -eq 1 ] && grep -q 999 "$T/stderr" && pass "--vd of a missing VD: $(cat "$T/stderr")" ||
	fail "--vd=999: rc=$rc"
[ $rc2 -eq 1 ] && grep -q 'give no disk' "$T/stderr2" && pass "--vd with a disk path is refused" ||
	fail "--vd plus disk: rc=$rc2"
finish
