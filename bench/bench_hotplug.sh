#!/bin/bash
# block-vd add+remove against Xen's stock `block` script (add+remove on a phy: loop device), with
# 0, 64 and 256 other vbd backends present in xenstore. Runs in a Xen dom0 (the QEMU test bed) as
# root, with xenstored running; bash (its in-shell clock, $EPOCHREALTIME, times each script run
# without a fork of its own). Prints one line per figure and the ratios. Both scripts get the
# environment libxl 4.17 gives hotplug scripts (script, XENBUS_TYPE, XENBUS_PATH, XENBUS_BASE_PATH):
# without XENBUS_BASE_PATH the stock script's sharing check scans
# nothing. Only the script runs are timed: writing the backend nodes (as libxl does before running
# a script) and removing them after are outside the measured interval, the same for both scripts.
# Self-contained: makes its own pool (a file, its own database) unless E2E_POOL_DEV names a pool
# device, and removes every backend, loop device and VD it made.
#
# Environment:
#   E2E_POOL_DEV=/dev/vda   use this block device as the pool (formatted if not in the pool yet)
#   BENCH_RUNS=20           add+remove cycles per figure (the mean is printed)
#   BENCH_COUNTS="0 64 256" numbers of other vbds
#   BLOCK_VD, XL_VD, STOCK_BLOCK  paths of the programs
# Exit: 0 when every figure was measured; 1 on a failed add/remove; 77 when not in a Xen dom0.
set -u

BLOCK_VD=${BLOCK_VD:-/etc/xen/scripts/block-vd}
XL_VD=${XL_VD:-$(command -v xl-vd || echo /usr/sbin/xl-vd)}
STOCK_BLOCK=${STOCK_BLOCK:-/etc/xen/scripts/block}
RUNS=${BENCH_RUNS:-20}
COUNTS=${BENCH_COUNTS:-0 64 256}
BASE=/local/domain/0/backend/vbd
OTHER_DOM0=3000 # fake frontend domains of the "other" vbds: 3000..
VD_DOM=2998     # fake frontend of the measured block-vd backend
STOCK_DOM=2999  # fake frontend of the measured stock backend

say() { echo "bench_hotplug: $*"; }
die() { echo "bench_hotplug: FAIL: $*" >&2; cleanup; exit 1; }

[ -n "${EPOCHREALTIME:-}" ] || { say "SKIP: needs bash 5 (\$EPOCHREALTIME)"; exit 77; }
if ! command -v xenstore-write >/dev/null 2>&1 || ! xenstore-read /local/domain/0/name >/dev/null 2>&1; then
	say "SKIP: no xenstore here (run inside a Xen dom0, e.g. the QEMU test bed)"
	exit 77
fi
[ "$(id -u)" = 0 ] || { say "SKIP: needs root"; exit 77; }
[ -x "$BLOCK_VD" ] || { say "SKIP: $BLOCK_VD not installed"; exit 77; }
[ -x "$XL_VD" ] || { say "SKIP: $XL_VD not installed"; exit 77; }

tmp=$(mktemp -d /tmp/bench-hotplug.XXXXXX)
loop=""
vd=""
others=0

cleanup() {
	i=0
	while [ $i -lt "$others" ]; do
		xenstore-rm "$BASE/$((OTHER_DOM0 + i))" 2>/dev/null
		i=$((i + 1))
	done
	xenstore-rm "$BASE/$VD_DOM" 2>/dev/null
	xenstore-rm "$BASE/$STOCK_DOM" 2>/dev/null
	[ -n "$vd" ] && "$XL_VD" delete "$vd" --force >/dev/null 2>&1
	[ -n "$loop" ] && losetup -d "$loop" 2>/dev/null
	rm -rf "$tmp"
}
trap 'cleanup; exit 1' INT TERM

# ---- the pool and one VD
if [ -n "${E2E_POOL_DEV:-}" ]; then
	"$XL_VD" pool-list 2>/dev/null | grep -q "$E2E_POOL_DEV" ||
		"$XL_VD" format "$E2E_POOL_DEV" --extent-size 4M --force >/dev/null ||
		die "xl-vd format $E2E_POOL_DEV failed"
else
	export XENVD_DB="$tmp/xenvd.db"
	dd if=/dev/zero of="$tmp/pool.img" bs=1M count=0 seek=128 2>/dev/null
	"$XL_VD" format "$tmp/pool.img" --extent-size 4M >/dev/null || die "xl-vd format failed"
fi
vd=$("$XL_VD" create 16M --name bench-hotplug-$$) || die "xl-vd create failed"
vd=$(echo "$vd" | head -n 1 | tr -cd "0-9")
[ -n "$vd" ] || die "xl-vd create printed no id"

# A configuration for untimed runs that log where block-vd's time goes (debug level, own log).
{
	[ -r "${XENVD_CONF:-/etc/xen/xenvd.conf}" ] && cat "${XENVD_CONF:-/etc/xen/xenvd.conf}"
	[ -n "${XENVD_DB:-}" ] && echo "db_path = $XENVD_DB"
	echo "log_level = 3"
	echo "hotplug_log = $tmp/phases.log"
} >"$tmp/phases.conf"

# ---- a phy: device for the stock script
dd if=/dev/zero of="$tmp/phy.img" bs=1M count=0 seek=16 2>/dev/null
loop=$(losetup -f) || die "no free loop device"
losetup "$loop" "$tmp/phy.img" || die "losetup $loop failed"

# A backend directory as libxl writes it before running the script; no "frontend" node, so
# blkback never binds these fake devices.
backend() { # dom devid params
	xenstore-write "$BASE/$1/$2/params" "$3" "$BASE/$1/$2/mode" w \
		"$BASE/$1/$2/frontend-id" "$1" "$BASE/$1/$2/type" phy \
		"$BASE/$1/$2/dev" xvda "$BASE/$1/$2/state" 2 "$BASE/$1/$2/online" 1 ||
		die "xenstore-write failed"
}

add_others() { # up to n other (connected, unrelated) vbds
	while [ "$others" -lt "$1" ]; do
		d=$((OTHER_DOM0 + others))
		backend $d 51712 "/dev/fake$others"
		xenstore-write "$BASE/$d/51712/physical-device" "fe:$others" \
			"$BASE/$d/51712/hotplug-status" connected || die "xenstore-write failed"
		others=$((others + 1))
	done
}

now_us() { # microseconds, into the variable named $1, without forking
	local t=$EPOCHREALTIME
	printf -v "$1" '%s' "${t/[.,]/}"
}

# one figure: mean milliseconds of add and of remove; $1 = block-vd|stock; prints "ADD REMOVE"
cycle_ms() {
	local dom prog params i t0 t1 t2 t3 add_us=0 rm_us=0
	if [ "$1" = block-vd-phases ]; then
		export XENVD_CONF=$tmp/phases.conf XENVD_PHASES_DETAIL=1
		: >"$tmp/phases.log"
		set -- block-vd
	fi
	if [ "$1" = block-vd ]; then
		dom=$VD_DOM prog=$BLOCK_VD params="vd:$vd"
	else
		dom=$STOCK_DOM prog=$STOCK_BLOCK params=$loop
	fi
	i=0
	while [ $i -lt "$RUNS" ]; do
		backend $dom 51712 "$params"
		now_us t0
		script=$prog XENBUS_TYPE=vbd XENBUS_PATH=backend/vbd/$dom/51712 XENBUS_BASE_PATH=backend \
			"$prog" add >/dev/null 2>"$tmp/err" ||
			die "$1 add failed (run $i): $(xenstore-read $BASE/$dom/51712/hotplug-error 2>/dev/null) $(cat "$tmp/err")"
		now_us t1
		xenstore-read "$BASE/$dom/51712/physical-device" >/dev/null ||
			die "$1 add wrote no physical-device"
		now_us t2
		script=$prog XENBUS_TYPE=vbd XENBUS_PATH=backend/vbd/$dom/51712 XENBUS_BASE_PATH=backend \
			"$prog" remove >/dev/null 2>"$tmp/err" ||
			die "$1 remove failed (run $i): $(cat "$tmp/err")"
		now_us t3
		xenstore-rm "$BASE/$dom/51712"
		add_us=$((add_us + t1 - t0))
		rm_us=$((rm_us + t3 - t2))
		i=$((i + 1))
	done
	awk -v a="$add_us" -v r="$rm_us" -v n="$RUNS" 'BEGIN { printf "%.1f %.1f", a / n / 1000, r / n / 1000 }'
}

[ -x "$STOCK_BLOCK" ] || say "note: $STOCK_BLOCK not present; measuring block-vd only"
say "VD $vd, stock phy device $loop, $RUNS cycles per figure"
# mean milliseconds per step of the "add|remove done in N ms: step ms, ..." debug lines
phases() {
	awk -v what="$1" '
	$0 ~ (": " what " done in ") {
		sub(/.* done in /, ""); split($0, a, " ms: "); total += a[1]; runs++
		n = split(a[2], p, ", ")
		for (i = 1; i <= n; i++) {
			split(p[i], kv, " ")
			split(kv[2], v, "/")
			if (!(kv[1] in sum)) order[++k] = kv[1]
			sum[kv[1]] += v[1]; flt[kv[1]] += v[2]; cpu[kv[1]] += v[3]
		}
	}
	END {
		if (!runs) { print "no timing lines logged"; exit }
		printf "%.1f ms (step ms/page faults/cpu ms):", total / runs
		for (i = 1; i <= k; i++)
			printf " %s %.1f/%df/%.1fc", order[i], sum[order[i]] / runs, flt[order[i]] / runs, cpu[order[i]] / runs
		print ""
	}' "$tmp/phases.log"
}

# one untimed cycle of each first: the first runs pay for cold caches (the first loop and dm
# devices, page cache), which is not what the figures compare
RUNS_SAVED=$RUNS RUNS=1
(cycle_ms block-vd >/dev/null) || exit 1
[ -x "$STOCK_BLOCK" ] && { (cycle_ms stock >/dev/null) || exit 1; }
RUNS=$RUNS_SAVED

first_vd=""
for n in $COUNTS; do
	add_others "$n"
	fig=$(cycle_ms block-vd) || exit 1
	set -- $fig
	vd_add=$1 vd_rm=$2
	ms_vd=$(awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a + b }')
	[ -n "$first_vd" ] || first_vd=$ms_vd
	if [ -x "$STOCK_BLOCK" ]; then
		fig=$(cycle_ms stock) || exit 1
		set -- $fig
		ms_stock=$(awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a + b }')
		ratio=$(awk -v a="$ms_stock" -v b="$ms_vd" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }')
		say "vbds=$n block-vd add ${vd_add} + remove ${vd_rm} = ${ms_vd} ms; stock block add $1 + remove $2 = ${ms_stock} ms; stock/block-vd ${ratio}x"
	else
		say "vbds=$n block-vd add ${vd_add} + remove ${vd_rm} = ${ms_vd} ms"
	fi
	growth=$(awk -v a="$ms_vd" -v b="$first_vd" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
	say "vbds=$n block-vd growth vs first count ${growth}x"
	# untimed: the same cycles with debug logging, for where the time goes inside block-vd
	(cycle_ms block-vd-phases >/dev/null) || exit 1
	say "vbds=$n block-vd add, inside the program (mean): $(phases add)"
	say "vbds=$n block-vd remove, inside the program (mean): $(phases remove)"
done
# with strace in dom0 (diagnosis: XENVD_E2E_EXTRA_TOOLS=strace): block-vd's system calls
if command -v strace >/dev/null 2>&1; then
	for what in add remove; do
		[ $what = add ] && backend $VD_DOM 51712 "vd:$vd"
		XENVD_CONF=$tmp/phases.conf XENBUS_PATH=backend/vbd/$VD_DOM/51712 \
			strace -f -c -o "$tmp/strace.$what" "$BLOCK_VD" $what >/dev/null 2>&1
		say "block-vd $what system calls: $(awk '/total/{print $4}' "$tmp/strace.$what")" \
			"($(sort -k4 -n -r "$tmp/strace.$what" | awk '$NF != "total" && NF >= 5 {printf "%s %s, ", $NF, $4}' | head -c 300))"
	done
	xenstore-rm "$BASE/$VD_DOM/51712"
fi
cleanup
exit 0
