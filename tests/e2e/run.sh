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
. "$here/host-lib.sh"

e2e_host_packages
e2e_fetch_debs
e2e_unpack
e2e_install_xenvd
e2e_build_dom0
# the test programs
cp "$here/scenario.sh" "$here/bench.sh" "$root/e2e/"
chmod 755 "$root"/e2e/*.sh
[ -f "$srcdir/bench/bench_hotplug.sh" ] && cp "$srcdir/bench/bench_hotplug.sh" "$root/e2e/bench/"
{
	echo "E2E_MODE=$mode"
	echo "E2E_STEPS=\"${XENVD_E2E_STEPS:-}\""
	echo "E2E_STORM=${XENVD_E2E_STORM:-8}"
	echo "E2E_STORM_BOOT=${XENVD_E2E_STORM_BOOT:-bootloader}"
} >>"$root/e2e/env"
e2e_build_guests

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
timeout -k 10 "$timeout_s" qemu-system-x86_64 -machine q35 -accel "tcg,thread=${XENVD_E2E_TCG_THREAD:-multi}" -cpu "${XENVD_E2E_CPU:-qemu64,+svm,+npt}" -m $mem -smp 2 \
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
echo
echo "================ xenvd e2e ($mode) summary ================"
e2e_summary "$log"
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
