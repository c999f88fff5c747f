# Host side of the QEMU test beds (sourced by run.sh, the single-host bed, and shared-run.sh, the
# two-host bed): host packages, the guest-side .debs (downloaded into a cache, never installed on
# the host), their unpacked tree, xenvd from its .deb, the dom0 root and initramfs, the guests'
# kernel and initrds. It runs nothing by itself.
# The caller sets: here (tests/e2e), srcdir, build_dir, work, cache, deb (or empty), t0;
# optionally E2E_EXTRA_DEBS (more guest-side packages), E2E_EXTRA_MODS (more dom0 modules).

say() { echo "e2e: $*"; }
die() { echo "e2e: FAIL: $*" >&2; exit 1; }
elapsed() { echo $(( $(date +%s) - t0 )); }

# ---------------------------------------------------------------- host packages
export DEBIAN_FRONTEND=noninteractive
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
		apt-get update -q >>"$work/apt.log" 2>&1
		# shellcheck disable=SC2086
		apt-get install -y -q --no-install-recommends $missing >>"$work/apt.log" 2>&1 ||
			{ tail -20 "$work/apt.log" >&2; die "could not install:$missing"; }
	fi
}
e2e_host_packages() {
	apt_install qemu-system-x86 busybox-static cpio coreutils util-linux dmsetup e2fsprogs fdisk bash
	command -v qemu-system-x86_64 >/dev/null ||
		die "qemu-system-x86_64 is not available: this machine CANNOT run the e2e test bed"
}

# ---------------------------------------------------------------- guest-side debs
# sets kpkg and debs
e2e_fetch_debs() {
	local need p
	kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
	if [ -z "$kpkg" ]; then
		apt-get update -q >/dev/null 2>&1 || true
		kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
	fi
	[ -n "$kpkg" ] || kpkg=$(cd "$cache" && ls linux-image-[0-9]*.deb 2>/dev/null | sed -n '1s/_.*//p')
	[ -n "$kpkg" ] || die "cannot tell which kernel package linux-image-amd64 depends on"
	debs="xen-hypervisor-4.17-amd64 xen-utils-4.17 xen-utils-common xenstore-utils libxentoolcore1
libxentoollog1 libxencall1 libxendevicemodel1 libxenevtchn1 libxenforeignmemory1 libxengnttab1
libxenhypfs1 libxenstore4 libxenmisc4.17 libyajl2 kpartx busybox $kpkg ${E2E_EXTRA_DEBS:-}"
	need=""
	for p in $debs; do
		ls "$cache/${p}_"*.deb >/dev/null 2>&1 || need="$need $p"
	done
	[ -z "$need" ] && return 0
	say "downloading guest-side packages into $cache:$need"
	# shellcheck disable=SC2086
	(cd "$cache" && apt-get download -o APT::Sandbox::User=root $need >"$work/download.log" 2>&1) || {
		apt-get update -q >/dev/null 2>&1 || true
		# shellcheck disable=SC2086
		(cd "$cache" && apt-get download -o APT::Sandbox::User=root $need >>"$work/download.log" 2>&1) ||
			{ tail -20 "$work/download.log" >&2; die "apt-get download failed"; }
	}
}

# ---------------------------------------------------------------- unpack (cached by deb list)
# sets stage, kver, xen_gz, vmlinuz, bbdyn
e2e_unpack() {
	local stamp p
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
	bbdyn=$stage/busybox-dyn/bin/busybox
	[ -x "$bbdyn" ] || bbdyn=$stage/busybox-dyn/usr/bin/busybox
	[ -x "$bbdyn" ] || die "no busybox in the busybox package"
}

# ---------------------------------------------------------------- xenvd, from its Debian package
# The .deb itself is what the scenario proves: unpacked as dpkg would install it (its maintainer
# scripts only enable systemd units, which this init-less dom0 does not run). Sets deb, inst.
e2e_install_xenvd() {
	local f
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
	for f in usr/sbin/xl-vd etc/xen/scripts/block-vd usr/lib/xen-4.17/bin/vdloader \
		usr/lib/xen-4.17/bin/vdloader-vd etc/xen/xenvd.conf; do
		[ -e "$inst/$f" ] || [ -L "$inst/$f" ] || die "the package lacks /$f"
		say "packaged: /$f"
	done
}

# ---------------------------------------------------------------- kernel modules
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
copy_mods() { # $1 = destination root, then the module names
	local dst=$1 p
	shift
	for p in $(modpaths "$@"); do
		mkdir -p "$dst/usr/lib/modules/$kver/$(dirname "$p")"
		cp "$moddir/$p" "$dst/usr/lib/modules/$kver/$p"
	done
	cp "$moddir"/modules.order "$moddir"/modules.builtin* "$dst/usr/lib/modules/$kver/" 2>/dev/null || true
	busybox depmod -b "$dst/usr" "$kver" 2>/dev/null || busybox depmod -b "$dst" "$kver"
}
add_closure() { # $1 = an ELF file inside $root or on the host
	local l
	LD_LIBRARY_PATH=$libpath ldd "$1" 2>/dev/null | awk '/=> \//{print $3} /^[ \t]*\/[^ ]*ld-linux/{print $1}' |
	while read -r l; do
		case "$l" in "$root"/*) continue ;; esac
		[ -e "$root$l" ] || { mkdir -p "$root$(dirname "$l")"; cp -L "$l" "$root$l"; }
	done
}

# ---------------------------------------------------------------- dom0 root
# E2E_DOM0_MODS: the modules dom0-init.sh loads (written to /e2e/env); sets root, moddir, libpath
E2E_DOM0_MODS="xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs xen-blkback xen-blkfront dm-mod loop
virtio_pci virtio_blk ext4"
e2e_build_dom0() {
	local d dst t p f gcc_s n a
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
	for t in xl xenstore-control; do
		ln -sf ../lib/xen-4.17/bin/$t "$root/usr/sbin/$t"
	done
	# kernel modules dom0 needs, with their dependencies
	moddir=$stage/lib/modules/$kver
	copy_mods "$root" $E2E_DOM0_MODS ${E2E_EXTRA_MODS:-}
	# host tools, each with its ldd closure
	# (dynamic host binaries rather than busybox-static applets wherever the scripts use them: static
	# busybox was seen to crash now and then in this dom0 under TCG)
	local host_tools="bash flock stat timeout mke2fs mkfs.ext4 sfdisk dmsetup losetup blockdev dd od cmp
md5sum sha256sum truncate cat head tail tr grep sed mawk cut sort uniq wc seq sleep ls cp mv rm
mkdir rmdir ln readlink basename dirname xargs find env id uname date touch chmod
${XENVD_E2E_EXTRA_TOOLS:-}"
	libpath=$root/usr/lib/x86_64-linux-gnu:$root/usr/lib/xen-4.17/lib/x86_64-linux-gnu
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
	mkdir -p "$root/e2e/guest" "$root/e2e/bench"
	cp "$here/dom0-init.sh" "$root/init"
	cp "$here/lib.sh" "$root/e2e/"
	chmod 755 "$root/init" "$root"/e2e/*.sh
	echo "E2E_MODS=\"$(echo $E2E_DOM0_MODS ${E2E_EXTRA_MODS:-})\"" >"$root/e2e/env"
	[ -n "${XENVD_E2E_DM_DISABLE_UDEV:-}" ] && echo "export DM_DISABLE_UDEV=1" >>"$root/e2e/env"
	return 0
}

mkcpio() { # $1 = directory, $2 = output; $3 = gz or raw
	if [ "$3" = gz ]; then
		(cd "$1" && find . | cpio -o -H newc --quiet | gzip -1) >"$2"
	else
		(cd "$1" && find . | cpio -o -H newc --quiet) >"$2"
	fi
}

# ---------------------------------------------------------------- guest kernel and initrds
# into $root/e2e/guest: vmlinuz, initrd-direct.gz and initrd-vd.gz (the same busybox tree with
# guest-init.sh, /origin telling them apart); sets groot
e2e_build_guests() {
	local l a
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
	copy_mods "$groot" xen-blkfront
	ln -s usr/lib "$groot/lib" 2>/dev/null || true
	cp "$here/guest-init.sh" "$groot/init"
	chmod 755 "$groot/init"
	echo "direct" >"$groot/origin"
	mkcpio "$groot" "$root/e2e/guest/initrd-direct.gz" gz
	echo "vd" >"$groot/origin"
	mkcpio "$groot" "$root/e2e/guest/initrd-vd.gz" gz
	cp "$vmlinuz" "$root/e2e/guest/vmlinuz"
	echo "E2E_GUEST_KERNEL_NAME=vmlinuz-$kver" >>"$root/e2e/env"
	echo "E2E_KVER=$kver" >>"$root/e2e/env"
}

# the console verdict: every "XENVD-E2E: step NAME VERDICT REASON" line of the log files given,
# as a table; sets npass, nfail, nskip, fails
e2e_summary() {
	local results name verdict reason
	results=$(cat "$@" | grep -a -o 'XENVD-E2E: step .*' || true)
	npass=0 nfail=0 nskip=0 fails=""
	while read -r _ _ name verdict reason; do
		[ -n "$name" ] || continue
		printf '  %-22s %-4s %s\n' "$name" "$verdict" "$reason"
		case $verdict in
		PASS) npass=$((npass + 1)) ;;
		SKIP) nskip=$((nskip + 1)) ;;
		*) nfail=$((nfail + 1)); fails="$fails $name" ;;
		esac
	done <<<"$results"
}
