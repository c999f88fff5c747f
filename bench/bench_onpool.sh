#!/bin/bash
# The on-pool database against the file database, whole processes side by side in one run:
# xl-vd create, show, delete and block-vd's database phase (bench_dbphase add/remove), on
# pools of 10^3 and 10^6 extents on loop devices. Prints the mean per operation, the ratio
# on-pool/file, and the reads, writes and flushes the on-pool database made per operation
# (XENVD_IO_STATS). Root (loop devices); bash 5 ($EPOCHREALTIME). Not part of make check.
#   BENCH_RUNS=30  runs per figure     BENCH_SIZES="1000 1000000"  extents per pool
set -u
XL_VD=${XL_VD:-xl-vd}
DBPHASE=${DBPHASE:-bench/bench_dbphase}
RUNS=${BENCH_RUNS:-30}
SIZES=${BENCH_SIZES:-1000 1000000}

[ -n "${EPOCHREALTIME:-}" ] || { echo "SKIP: needs bash 5"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (loop devices)"; exit 77; }
tmp=$(mktemp -d /tmp/bench-onpool.XXXXXX)
loops=()
cleanup() {
	for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
export XENVD_CONF=$tmp/none XENVD_RUN_DIR=$tmp/run

now_us() { local t=${EPOCHREALTIME/./}; echo "$t"; }

# setup STORAGE EXTENTS: a pool of EXTENTS extents of 64K on a loop device, database in
# $tmp/STORAGE-EXTENTS/db/xenvd.db or on the device; 20 VDs of 16 extents to work on.
setup() {
	local storage=$1 n=$2 dir=$tmp/$1-$2 size
	mkdir -p "$dir"
	size=$(( (n + 64) * 65536 + 256 * 1048576 ))
	truncate -s "$size" "$dir/dev.img"
	dev=$(losetup -f --show "$dir/dev.img") || { echo "SKIP: losetup failed"; exit 77; }
	loops+=("$dev")
	export XENVD_DB=$dir/db/xenvd.db
	"$XL_VD" format "$dev" --extent-size 64K --max-extents $((n + 1000)) \
		--"$storage"-database >/dev/null || exit 1
}

# timeit NAME CMD...: mean µs of RUNS runs of CMD (each a new process); "%d" in CMD is the run
# number, "%v" the id of the VD the run-th timed create made.
declare -A mean io
timeit() {
	local key=$1 total=0 t0 t1 i reads=0 writes=0 flushes=0 line f
	shift
	local cmd=("$@")
	for ((i = 1; i <= RUNS; i++)); do
		local args=("${cmd[@]//%d/$i}")
		args=("${args[@]//%v/$((20 + i))}")
		t0=$(now_us)
		XENVD_IO_STATS=1 "${args[@]}" >/dev/null 2>"$tmp/err" || { cat "$tmp/err"; exit 1; }
		t1=$(now_us)
		total=$((total + t1 - t0))
		line=$(grep '^xenvd-io:' "$tmp/err" | tail -n1)
		if [ -n "$line" ]; then
			read -r _ f <<<"$line"
			for f in $f; do
				case $f in
				reads=*) reads=$((reads + ${f#reads=})) ;;
				writes=*) writes=$((writes + ${f#writes=})) ;;
				flushes=*) flushes=$((flushes + ${f#flushes=})) ;;
				esac
			done
		fi
	done
	mean[$key]=$((total / RUNS))
	io[$key]="$((reads / RUNS))/$((writes / RUNS))/$((flushes / RUNS))"
}

for n in $SIZES; do
	for storage in file pool; do
		setup "$storage" "$n"
		k=$storage-$n
		for ((i = 0; i < 20; i++)); do "$XL_VD" create 1M >/dev/null; done
		timeit "create-$k" "$XL_VD" create 1M
		timeit "show-$k" "$XL_VD" show 5
		timeit "dbadd-$k" "$DBPHASE" add 7 /local/domain/0/backend/vbd/7/%d
		timeit "dbremove-$k" "$DBPHASE" remove /local/domain/0/backend/vbd/7/%d
		timeit "delete-$k" "$XL_VD" delete %v --force
	done
done

printf '%-10s %9s %12s %12s %7s  %s\n' op extents "file µs" "on-pool µs" ratio \
	"on-pool reads/writes/flushes per op"
for n in $SIZES; do
	for op in create show delete dbadd dbremove; do
		f=${mean[$op-file-$n]} p=${mean[$op-pool-$n]}
		printf '%-10s %9s %12s %12s %7s  %s\n' "$op" "$n" "$f" "$p" \
			"$(awk -v a="$p" -v b="$f" 'BEGIN { printf "%.2f", a / b }')" "${io[$op-pool-$n]}"
	done
done
