#!/bin/sh
# The benchmark's guest image: DIR/NAME.img, an ext4 filesystem with a Debian-style grub.cfg, a
# kernel of KERNEL_MIB and an initrd of INITRD_MIB random bytes; the same two files are left in
# DIR/files-NAME/ for the plain-copy comparison. Used by bench_vdloader.sh and, so that the
# static vdloader's code layout follows what the benchmark runs, by plugin/vdloader-layout.sh.
# Usage: vdloader-image.sh DIR NAME KERNEL_MIB INITRD_MIB
set -eu
dir=$1 name=$2
src=$dir/src-$name
PATH=$PATH:/sbin:/usr/sbin
rm -rf "$src"
mkdir -p "$src/boot/grub" "$src/etc" "$dir/files-$name"
head -c $(($3 * 1024 * 1024)) /dev/urandom > "$src/boot/vmlinuz-6.1.0-13-amd64"
head -c $(($4 * 1024 * 1024)) /dev/urandom > "$src/boot/initrd.img-6.1.0-13-amd64"
cp "$src/boot/vmlinuz-6.1.0-13-amd64" "$src/boot/initrd.img-6.1.0-13-amd64" "$dir/files-$name/"
echo "/dev/xvda1 / ext4 defaults 0 1" > "$src/etc/fstab"
cat > "$src/boot/grub/grub.cfg" <<'CFG'
set default="0"
menuentry 'Debian GNU/Linux' {
	linux	/boot/vmlinuz-6.1.0-13-amd64 root=/dev/xvda1 ro console=hvc0 quiet
	initrd	/boot/initrd.img-6.1.0-13-amd64
}
CFG
mke2fs -q -F -t ext4 -d "$src" "$dir/$name.img" $(($3 + $4 + 24))M
rm -rf "$src"
