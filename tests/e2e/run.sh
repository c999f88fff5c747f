#!/bin/bash
# xenvd end-to-end test bed: boots a real Xen 4.17 with a Debian PV dom0 under QEMU (TCG), with the
# freshly built xenvd .deb unpacked into dom0, runs the scenario (or the benchmarks) inside dom0 and
# turns the "XENVD-E2E: step NAME PASS|FAIL|SKIP reason" lines of the serial console into a verdict.
#
#   tests/e2e/run.sh [--bench] [--build-dir DIR] [--deb FILE] [--work DIR] [--timeout SECS] [--keep]
#   (--deb: the package to install; default: `make deb` in the build directory builds it)
# Environment:
#   XENVD_E2E=skip          exit 77 at once (make distcheck, quick developer runs)
#   XENVD_E2E_CACHE=DIR     where the guest-side .debs are kept (default tests/e2e/work/cache in the
#                           source tree); reused when present
#   XENVD_E2E_TIMEOUT=SECS  hard limit for the QEMU run (default 1500; 1800 with --bench)
#   XENVD_E2E_CPU=MODEL     QEMU -cpu (default qemu64,+svm,+npt; see below)
#   XENVD_E2E_STEPS="a b"   run only these steps (default: all); others are reported as not run
#   XENVD_E2E_DM_DISABLE_UDEV=1  export DM_DISABLE_UDEV=1 to xenvd's programs in dom0 (diagnosis)
#   XENVD_E2E_EXTRA_TOOLS="strace"  more host programs for dom0 (diagnosis; with strace, the
#                           hotplug bench also prints block-vd's system call counts)
#   XENVD_E2E_STORM=8, XENVD_E2E_STORM_BOOT=bootloader|direct   the --bench boot storm
# Exit: 0 only if every required step passed; 1 otherwise (QEMU unusable included); 77 if skipped.
set -euo pipefail

if [ "${XENVD_E2E:-}" = skip ]; then
	echo "SKIP: e2e test bed disabled by XENVD_E2E=skip"
	exit 77
fi

here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
mode=scenario
build_dir=${top_builddir:-}
work=""
timeout_s=""
keep=0
deb=""
while [ $# -gt 0 ]; do
	case "$1" in
	--bench) mode=bench ;;
	--build-dir) build_dir=$2; shift ;;
	--build-dir=*) build_dir=${1#*=} ;;
	--deb) deb=$2; shift ;;
	--deb=*) deb=${1#*=} ;;
	--work) work=$2; shift ;;
	--work=*) work=${1#*=} ;;
	--timeout) timeout_s=$2; shift ;;
	--timeout=*) timeout_s=${1#*=} ;;
	--keep) keep=1 ;;
	-h|--help) sed -n '2,20p' "$0"; exit 0 ;;
	*) echo "e2e: unknown argument '$1' (try --help)" >&2; exit 1 ;;
	esac
	shift
done
[ -n "$build_dir" ] || build_dir=$srcdir/build-e2e
build_dir=$(cd "$build_dir" && pwd) || { echo "e2e: FAIL: build directory missing" >&2; exit 1; }
[ -n "$work" ] || work=$build_dir/tests/e2e/work
[ -n "$timeout_s" ] || timeout_s=${XENVD_E2E_TIMEOUT:-$([ $mode = bench ] && echo 1800 || echo 1500)}
mkdir -p "$work"
work=$(cd "$work" && pwd)
cache=${XENVD_E2E_CACHE:-$srcdir/tests/e2e/work/cache}
mkdir -p "$cache" 2>/dev/null || cache=$work/cache
mkdir -p "$cache"
log=$work/console.log
[ $mode = bench ] && log=$work/console-bench.log

t0=$(date +%s)
say() { echo "e2e: $*"; }
die() { echo "e2e: FAIL: $*" >&2; exit 1; }
elapsed() { echo $(( $(date +%s) - t0 )); }

# ---------------------------------------------------------------- host packages
export DEBIAN_FRONTEND=noninteractive
apt_updated=0
apt_install() {
	local missing="" p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	[ "$(id -u)" -eq 0 ] || die "host packages missing:$missing (run as root, or install them)"
	say "installing host packages:$missing"
	# shellcheck disable=SC2086
	if ! apt-get install -y -q --no-install-recommends $missing >"$work/apt.log" 2>&1; then
		apt-get update -q >>"$work/apt.log" 2>&1 && apt_updated=1
		# shellcheck disable=SC2086
		apt-get install -y -q --no-install-recommends $missing >>"$work/apt.log" 2>&1 ||
			{ tail -20 "$work/apt.log" >&2; die "could not install:$missing"; }
	fi
}
apt_install qemu-system-x86 busybox-static cpio coreutils util-linux dmsetup e2fsprogs fdisk bash
command -v qemu-system-x86_64 >/dev/null ||
	die "qemu-system-x86_64 is not available: this machine CANNOT run the e2e test bed"

# ---------------------------------------------------------------- guest-side debs
kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
if [ -z "$kpkg" ]; then
	apt-get update -q >/dev/null 2>&1 || true
	kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
fi
[ -n "$kpkg" ] || kpkg=$(cd "$cache" && ls linux-image-[0-9]*.deb 2>/dev/null | sed -n '1s/_.*//p')
[ -n "$kpkg" ] || die "cannot tell which kernel package linux-image-amd64 depends on"
debs="xen-hypervisor-4.17-amd64 xen-utils-4.17 xen-utils-common xenstore-utils libxentoolcore1
libxentoollog1 libxencall1 libxendevicemodel1 libxenevtchn1 libxenforeignmemory1 libxengnttab1
libxenhypfs1 libxenstore4 libxenmisc4.17 libyajl2 kpartx busybox $kpkg"
need=""
for p in $debs; do
	ls "$cache/${p}_"*.deb >/dev/null 2>&1 || need="$need $p"
done
if [ -n "$need" ]; then
	say "downloading guest-side packages into $cache:$need"
	# shellcheck disable=SC2086
	(cd "$cache" && apt-get download -o APT::Sandbox::User=root $need >"$work/download.log" 2>&1) || {
		apt-get update -q >/dev/null 2>&1 || true
		# shellcheck disable=SC2086
		(cd "$cache" && apt-get download -o APT::Sandbox::User=root $need >>"$work/download.log" 2>&1) ||
			{ tail -20 "$work/download.log" >&2; die "apt-get download failed"; }
	}
fi

# ---------------------------------------------------------------- unpack (cached by deb list)
stage=$work/stage
stamp=$(cd "$cache" && for p in $debs; do ls "${p}_"*.deb | tail -1; done | md5sum | cut -c1-16)
if [ "$(cat "$stage/.stamp" 2>/dev/null)" != "$stamp" ]; then
	say "unpacking packages into $stage"
	rm -rf "$stage"
	mkdir -p "$stage"
	for p in $debs; do
		case $p in
		busybox) dpkg-deb -x "$(ls "$cache/${p}_"*.deb | tail -1)" "$stage/busybox-dyn" ;;
		*) dpkg-deb -x "$(ls "$cache/${p}_"*.deb | tail -1)" "$stage" ;;
		esac
	done
	echo "$stamp" >"$stage/.stamp"
fi
kver=$(ls "$stage/lib/modules" | head -1)
[ -n "$kver" ] || die "no kernel modules in the staged kernel package"
[ -f "$stage/lib/modules/$kver/modules.dep" ] || busybox depmod -b "$stage" "$kver"
xen_gz=$(ls "$stage"/boot/xen-4.17-amd64.gz 2>/dev/null | head -1)
[ -n "$xen_gz" ] || die "no xen-4.17-amd64.gz in the staged hypervisor package"
vmlinuz=$stage/boot/vmlinuz-$kver

# ---------------------------------------------------------------- xenvd, from its Debian package
# The .deb itself is what the scenario proves: unpacked as dpkg would install it (its maintainer
# scripts only enable systemd units, which this init-less dom0 does not run).
if [ -z "$deb" ]; then
	say "make deb (in $build_dir)"
	make -C "$build_dir" deb >"$work/deb.log" 2>&1 ||
		{ tail -30 "$work/deb.log" >&2; die "make deb failed in $build_dir (log: $work/deb.log)"; }
	deb=$(sed -n 's/^make deb: built //p' "$work/deb.log" | tail -1)
fi
[ -f "$deb" ] || die "no xenvd package at '$deb' (make deb builds it)"
inst=$work/xenvd-inst
rm -rf "$inst"
say "installing $(dpkg-deb -f "$deb" Package)_$(dpkg-deb -f "$deb" Version) from $deb"
dpkg-deb -x "$deb" "$inst" || die "dpkg-deb -x $deb failed"
# the database directory, root's alone, as the package ships it
[ -d "$inst/var/lib/xenvd" ] || install -d -m 0700 "$inst/var/lib/xenvd"
[ "$(stat -c %a "$inst/var/lib/xenvd")" = 700 ] ||
	die "the package's /var/lib/xenvd is mode $(stat -c %a "$inst/var/lib/xenvd"), not 0700"
for f in usr/sbin/xl-vd etc/xen/scripts/block-vd usr/lib/xen-4.17/bin/vdloader etc/xen/xenvd.conf; do
	[ -e "$inst/$f" ] || [ -L "$inst/$f" ] || die "the package lacks /$f"
	say "packaged: /$f"
done

# ---------------------------------------------------------------- dom0 root
root=$work/dom0root
rm -rf "$root"
mkdir -p "$root"/usr/{bin,sbin,lib,lib64} "$root"/{proc,sys,dev,run,tmp,root,mnt,etc,var/lib,var/log}
ln -s usr/bin "$root/bin"; ln -s usr/sbin "$root/sbin"; ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"; ln -s ../run "$root/var/run"
# the staged debs, merged-/usr (kernel image and python bits left out)
for d in usr etc var lib sbin bin; do
	[ -d "$stage/$d" ] || continue
	case $d in
	lib|sbin|bin) dst=$root/usr/$d ;;
	*) dst=$root/$d ;;
	esac
	mkdir -p "$dst"
	cp -a "$stage/$d/." "$dst/"
done
rm -rf "$root/usr/lib/modules"
rm -rf "$root/usr/lib/xen-4.17/lib/python" "$root/usr/share/doc" "$root/usr/share/man" "$root/boot"
# the real binaries, not Debian's version-dispatching wrappers
for b in xl xenstore-control; do
	ln -sf ../lib/xen-4.17/bin/$b "$root/usr/sbin/$b"
done
# kernel modules dom0 needs, with their dependencies
mods="xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs xen-blkback xen-blkfront dm-mod loop
virtio_pci virtio_blk ext4"
moddir=$stage/lib/modules/$kver
modpaths() {
	# closure of the named modules over modules.dep, as paths relative to $moddir
	local want="$*" done_="" m f deps
	while [ -n "$want" ]; do
		set -- $want; m=$1; shift; want="$*"
		f=$(grep -E "(^|/)${m//[-_]/[-_]}\.ko(\.[a-z]+)?:" "$moddir/modules.dep" | head -1) || true
		[ -n "$f" ] || { echo "e2e: no module $m in $kver (built in?)" >&2; continue; }
		case " $done_ " in *" ${f%%:*} "*) continue ;; esac
		done_="$done_ ${f%%:*}"
		for deps in ${f#*:}; do
			want="$want $(basename "${deps%%.ko*}")"
		done
	done
	echo "$done_"
}
copy_mods() { # $1 = destination root
	local p
	for p in $(modpaths $mods); do
		mkdir -p "$1/usr/lib/modules/$kver/$(dirname "$p")"
		cp "$moddir/$p" "$1/usr/lib/modules/$kver/$p"
	done
	cp "$moddir"/modules.order "$moddir"/modules.builtin* "$1/usr/lib/modules/$kver/" 2>/dev/null || true
	busybox depmod -b "$1/usr" "$kver" 2>/dev/null || busybox depmod -b "$1" "$kver"
}
copy_mods "$root"
# host tools, each with its ldd closure
# (dynamic host binaries rather than busybox-static applets wherever the scripts use them: static
# busybox was seen to crash now and then in this dom0 under TCG)
host_tools="bash flock stat timeout mke2fs mkfs.ext4 sfdisk dmsetup losetup blockdev dd od cmp
md5sum sha256sum truncate cat head tail tr grep sed mawk cut sort uniq wc seq sleep ls cp mv rm
mkdir rmdir ln readlink basename dirname xargs find env id uname date touch chmod
${XENVD_E2E_EXTRA_TOOLS:-}"
libpath=$root/usr/lib/x86_64-linux-gnu:$root/usr/lib/xen-4.17/lib/x86_64-linux-gnu
add_closure() { # $1 = an ELF file inside $root or on the host
	local l
	LD_LIBRARY_PATH=$libpath ldd "$1" 2>/dev/null | awk '/=> \//{print $3} /^[ \t]*\/[^ ]*ld-linux/{print $1}' |
	while read -r l; do
		case "$l" in "$root"/*) continue ;; esac
		[ -e "$root$l" ] || { mkdir -p "$root$(dirname "$l")"; cp -L "$l" "$root$l"; }
	done
}
for t in $host_tools; do
	p=$(command -v "$t" || true)
	[ -n "$p" ] || { say "host tool $t not found (skipped)"; continue; }
	case "$p" in */sbin/*) d=usr/sbin ;; *) d=usr/bin ;; esac
	rm -f "$root/$d/$t"
	cp -L "$p" "$root/$d/$t"
	add_closure "$p"
done
mkdir -p "$root/lib64"
cp -L /lib64/ld-linux-x86-64.so.2 "$root/usr/lib64/"
ln -sf mawk "$root/usr/bin/awk"
gcc_s=$(ls /lib/x86_64-linux-gnu/libgcc_s.so.1 /usr/lib/x86_64-linux-gnu/libgcc_s.so.1 2>/dev/null | head -1)
[ -n "$gcc_s" ] && cp -L "$gcc_s" "$root/usr/lib/x86_64-linux-gnu/libgcc_s.so.1"
# xenvd itself, as installed (merged-/usr: the package's /lib goes to /usr/lib)
for d in "$inst"/*; do
	case ${d##*/} in
	lib|sbin|bin) mkdir -p "$root/usr/${d##*/}"; cp -a "$d/." "$root/usr/${d##*/}/" ;;
	*) cp -a "$d" "$root/" ;;
	esac
done
# unit tests that need what only this bed has (real device-mapper)
if [ -x "$build_dir/tests/unit/test_dm_live" ]; then
	mkdir -p "$root/usr/lib/xenvd-tests"
	cp "$build_dir/tests/unit/test_dm_live" "$root/usr/lib/xenvd-tests/"
fi
# every ELF in the tree: its closure
find "$root/usr" -type f -perm -u+x | while read -r f; do
	head -c4 "$f" 2>/dev/null | grep -q ELF && add_closure "$f" || true
done
# busybox for everything else (without shadowing a real program). The dynamically linked busybox
# of Debian's busybox package, not busybox-static: static busybox crashed now and then in these PV
# domains under TCG (fs-relative TLS faults), the dynamic one and glibc's other users did not.
bbdyn=$stage/busybox-dyn/bin/busybox
[ -x "$bbdyn" ] || bbdyn=$stage/busybox-dyn/usr/bin/busybox
[ -x "$bbdyn" ] || die "no busybox in the busybox package"
cp "$bbdyn" "$root/usr/bin/busybox"
add_closure "$bbdyn"
busybox --list-full | while read -r a; do
	n=$(basename "$a")
	# no fallback init: a broken /init must panic (and end QEMU), not hang in busybox's init
	case $n in init|linuxrc) continue ;; esac
	[ -e "$root/usr/bin/$n" ] || [ -e "$root/usr/sbin/$n" ] || [ -L "$root/usr/bin/$n" ] ||
		ln -s busybox "$root/usr/bin/$n"
done
ldconfig -r "$root" 2>/dev/null || true
echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
echo "nobody:x:65534:65534:nobody:/nonexistent:/bin/false" >>"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
: >"$root/etc/fstab"
# the test programs
mkdir -p "$root/e2e/guest" "$root/e2e/bench"
cp "$here/dom0-init.sh" "$root/init"
cp "$here/lib.sh" "$here/scenario.sh" "$here/bench.sh" "$root/e2e/"
chmod 755 "$root/init" "$root"/e2e/*.sh
[ -f "$srcdir/bench/bench_hotplug.sh" ] && cp "$srcdir/bench/bench_hotplug.sh" "$root/e2e/bench/"
[ -n "${XENVD_E2E_DM_DISABLE_UDEV:-}" ] && echo "export DM_DISABLE_UDEV=1" >"$root/e2e/env"
{
	echo "E2E_MODE=$mode"
	echo "E2E_KVER=$kver"
	echo "E2E_STEPS=\"${XENVD_E2E_STEPS:-}\""
	echo "E2E_STORM=${XENVD_E2E_STORM:-8}"
	echo "E2E_STORM_BOOT=${XENVD_E2E_STORM_BOOT:-bootloader}"
} >>"$root/e2e/env"

# ---------------------------------------------------------------- guest kernel and initrds
groot=$work/guestroot
rm -rf "$groot"
mkdir -p "$groot"/{bin,proc,sys,dev,tmp} "$groot/usr/lib64" "$groot/usr/lib/x86_64-linux-gnu"
ln -s usr/lib64 "$groot/lib64"
cp "$bbdyn" "$groot/bin/busybox"
LD_LIBRARY_PATH= ldd "$bbdyn" | awk '/=> \//{print $3}' | while read -r l; do
	cp -L "$l" "$groot/usr/lib/x86_64-linux-gnu/"
done
cp -L /lib64/ld-linux-x86-64.so.2 "$groot/usr/lib64/"
for a in $(busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$groot/bin/$a"; done
mods_save=$mods; mods="xen-blkfront"; copy_mods "$groot"; mods=$mods_save
ln -s usr/lib "$groot/lib" 2>/dev/null || true
cp "$here/guest-init.sh" "$groot/init"
chmod 755 "$groot/init"
mkcpio() { # $1 = directory, $2 = output; $3 = gz or raw
	if [ "$3" = gz ]; then
		(cd "$1" && find . | cpio -o -H newc --quiet | gzip -1) >"$2"
	else
		(cd "$1" && find . | cpio -o -H newc --quiet) >"$2"
	fi
}
echo "direct" >"$groot/origin"
mkcpio "$groot" "$root/e2e/guest/initrd-direct.gz" gz
echo "vd" >"$groot/origin"
mkcpio "$groot" "$root/e2e/guest/initrd-vd.gz" gz
cp "$vmlinuz" "$root/e2e/guest/vmlinuz"
echo "E2E_GUEST_KERNEL_NAME=vmlinuz-$kver" >>"$root/e2e/env"

say "building the dom0 initramfs"
mkcpio "$root" "$work/dom0.cpio" raw
xen=$work/xen
gzip -dc "$xen_gz" >"$xen"

# ---------------------------------------------------------------- pool disk and QEMU
# CPU model: qemu64, not XEN-IN-QEMU.md's max,-smap. With max,-smap, processes in dom0 and in the
# guests died now and then of heap corruption and faults on fs-relative (TLS) accesses (static
# busybox, xl: "malloc(): unsorted double linked list corrupted", "Invalid kernel" from concurrent
# xl create); with qemu64 the same scenario and 8-guest storm ran clean. +svm,+npt: TCG emulates
# AMD SVM with nested paging, so Xen can run PVH (and HVM) guests; PV guests are unaffected
# (XEN-IN-QEMU.md). XENVD_E2E_CPU overrides.
rm -f "$work/pool.img"
truncate -s 1G "$work/pool.img"
# the boot storm needs a big dom0: each concurrent `xl create` decompresses its guest kernel in
# its own memory, and 8 of them exhausted a 1 GiB dom0 (no swap: dom0 stalled)
mem=2048
[ $mode = bench ] && mem=4096
dom0mem=1024M
[ $mode = bench ] && dom0mem=2048M
say "prepared in $(elapsed)s; booting Xen in QEMU (TCG, limit ${timeout_s}s), console: $log"
tq0=$(date +%s)
set +e
timeout -k 10 "$timeout_s" qemu-system-x86_64 -machine q35,accel=tcg -cpu "${XENVD_E2E_CPU:-qemu64,+svm,+npt}" -m $mem -smp 2 \
	-nographic -no-reboot -serial mon:stdio -nic none \
	-kernel "$xen" \
	-append "dom0_mem=$dom0mem,max:$dom0mem dom0_max_vcpus=2 console=com1 com1=115200,8n1 loglvl=all guest_loglvl=all" \
	-initrd "$vmlinuz console=hvc0 earlyprintk=xen loglevel=6 panic=-1 e2e.mode=$mode,$work/dom0.cpio" \
	-drive file="$work/pool.img",if=none,id=pool,format=raw,cache=unsafe \
	-device virtio-blk-pci,drive=pool,serial=xenvd-e2e-pool \
	</dev/null >"$log" 2>&1
qrc=$?
set -e
tq=$(( $(date +%s) - tq0 ))

# ---------------------------------------------------------------- verdict
tr -d '\r' <"$log" >"$log.tmp" && mv "$log.tmp" "$log"
results=$(grep -a -o 'XENVD-E2E: step .*' "$log" || true)
echo
echo "================ xenvd e2e ($mode) summary ================"
npass=0 nfail=0 nskip=0
fails=""
while read -r _ _ name verdict reason; do
	[ -n "$name" ] || continue
	printf '  %-22s %-4s %s\n' "$name" "$verdict" "$reason"
	case $verdict in
	PASS) npass=$((npass + 1)) ;;
	SKIP) nskip=$((nskip + 1)) ;;
	*) nfail=$((nfail + 1)); fails="$fails $name" ;;
	esac
done <<<"$results"
grep -a -o 'XENVD-E2E: time .*' "$log" | sed 's/^XENVD-E2E: /  /' || true
ok=1
if ! grep -aq 'XENVD-E2E: end' "$log"; then
	ok=0
	nfail=$((nfail + 1))
	fails="$fails (incomplete run)"
	if [ $qrc -eq 124 ] || [ $qrc -eq 137 ]; then
		echo "  QEMU was killed after ${timeout_s}s: the run hung (see the console log)"
	else
		echo "  dom0 never reported the end of the run (QEMU exit $qrc): crash or panic?"
	fi
fi
grep -aq 'XENVD-E2E: dom0 init' "$log" || { ok=0; echo "  dom0 never started its init: Xen or QEMU could not run"; }
[ $nfail -eq 0 ] || ok=0
[ $nskip -eq 0 ] || ok=0
[ $npass -gt 0 ] || ok=0
echo "  QEMU ran ${tq}s (exit $qrc); whole run $(elapsed)s"
echo "$npass passed, $nfail failed, $nskip skipped"
echo "  console log: $log"
if [ $ok -ne 1 ]; then
	echo "---------------- tail of $log ----------------"
	tail -n 120 "$log"
	echo "---------------- e2e FAILED (failed:${fails:- none}; skipped steps count as not passed) ----"
	exit 1
fi
[ $keep -eq 1 ] || rm -rf "$root" "$groot" "$work/dom0.cpio"
echo "e2e: all steps passed"
exit 0
