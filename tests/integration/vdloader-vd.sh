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

# VDs of several GiB, partitioned and not (sparse pool files: nothing large is written). The
# reader probes them without a disk-sized file; any failure is said once.
truncate -s 6G "$T/big0.img" "$T/big1.img"
"$XLVD" format "$T/big0.img" --extent-size 4M > /dev/null
"$XLVD" format "$T/big1.img" --extent-size 4M > /dev/null
fs=$T/small-fs.img
d=$T/bigtree
mkdir -p "$d/boot/grub" "$d/etc"
cp "$IMG/payload/kernel-a" "$d/boot/vmlinuz"
cp "$IMG/payload/initrd-a" "$d/boot/initrd.img"
printf 'menuentry big {\n linux /boot/vmlinuz root=/dev/xvda1 big=1\n initrd /boot/initrd.img\n}\n' \
	> "$d/boot/grub/grub.cfg"
mke2fs -q -F -t ext4 -d "$d" "$fs" 16M >/dev/null
for layout in bare partitioned; do
	vd=$("$XLVD" create 5G | head -n1)
	if [ $layout = bare ]; then
		cp "$fs" "$T/big-src.img"
	else
		# a partition over the whole 5 GiB holding a 16 MiB filesystem: only the first
		# 17 MiB of the image are written into the VD
		rm -f "$T/big-src.img"
		truncate -s 5G "$T/big-src.img"
		printf 'label: dos\nstart=2048, type=83\n' | sfdisk -q "$T/big-src.img" >/dev/null
		dd if="$fs" of="$T/big-src.img" bs=1M seek=1 conv=notrunc status=none
		truncate -s 17M "$T/big-src.img"
	fi
	"$XLVD" import "$vd" "$T/big-src.img" > /dev/null 2>&1 || fail "import into VD $vd failed"
	set +e
	"$VDLOADER" $SANDBOX_OPT --dryrun --output-format=simple --vd="$vd" > "$T/big.out" 2> "$T/big.err"
	rc=$?
	set -e
	if [ $rc -eq 0 ] && grep -q 'big=1' "$T/big.out"; then
		pass "--vd of a 5 GiB VD, $layout"
	else
		fail "--vd of a 5 GiB VD, $layout: rc=$rc $(cat "$T/big.err")"
	fi
done
# an unreadable VD: one error line, not three
vd=$("$XLVD" create 1G | head -n1)
set +e
"$VDLOADER" $SANDBOX_OPT --dryrun --vd="$vd" > /dev/null 2> "$T/big.err"
rc=$?
set -e
[ $rc -eq 1 ] && [ "$(wc -l < "$T/big.err")" -eq 1 ] && pass "an empty VD: one error line: $(cat "$T/big.err")" ||
	fail "empty VD: rc=$rc, said $(wc -l < "$T/big.err") times: $(cat "$T/big.err")"

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
