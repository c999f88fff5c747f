#!/bin/bash
# The on-pool database against the file database, whole processes side by side in one run:
# xl-vd create, show, delete and block-vd's database phase (bench_dbphase add/remove), on
# pools of 10^3 and 10^6 extents on loop devices. Prints the mean per operation, the ratio
# on-pool/file, and the reads, writes and flushes the on-pool database made per operation
# (XENVD_IO_STATS). Root (loop devices); bash 5 ($EPOCHREALTIME). Not part of make check.
#   BENCH_RUNS=30  runs per figure     BENCH_SIZES="1000 1000000"  extents per pool
set -u
XL_VD=${XL_VD:-xl-vd}
DBPHASE=${DBPHASE:-bench/bench_onpool_dbphase}
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
# $tmp/STORAGE-EXTENTS/db/xenvd.db or on the device; 20 VDs of 1 MiB to work on.
declare -A dbs
setup() {
	local storage=$1 n=$2 dir=$tmp/$1-$2 size dev
	mkdir -p "$dir"
	size=$(( (n + 64) * 65536 + 256 * 1048576 ))
	truncate -s "$size" "$dir/dev.img"
	dev=$(losetup -f --show "$dir/dev.img") || { echo "SKIP: losetup failed"; exit 77; }
	loops+=("$dev")
	dbs[$storage-$n]=$dir/db/xenvd.db
	XENVD_DB=$dir/db/xenvd.db "$XL_VD" format "$dev" --extent-size 64K \
		--max-extents $((n + 1000)) --"$storage"-database >/dev/null || exit 1
	for ((i = 0; i < 20; i++)); do XENVD_DB=$dir/db/xenvd.db "$XL_VD" create 1M >/dev/null; done
}

# timeit OP N CMD...: RUNS runs of CMD (each a new process) on the file and on the on-pool
# database of the pool of N extents, interleaved so that a busy machine weighs on both alike;
# "%d" in CMD is the run number, "%v" the id of the VD the run-th timed create made.
declare -A total io
timeit() {
	local op=$1 n=$2 t0 t1 i storage line f key
	shift 2
	local cmd=("$@")
	for storage in file pool; do
		total[$op-$storage-$n]=0
		io[$op-$storage-$n]="0 0 0"
	done
	for ((i = 1; i <= RUNS; i++)); do
		local args=("${cmd[@]//%d/$i}")
		args=("${args[@]//%v/$((20 + i))}")
		for storage in file pool; do
			key=$op-$storage-$n
			t0=${EPOCHREALTIME/./}
			XENVD_DB=${dbs[$storage-$n]} XENVD_IO_STATS=1 "${args[@]}" >/dev/null \
				2>"$tmp/err" || { cat "$tmp/err"; exit 1; }
			t1=${EPOCHREALTIME/./}
			total[$key]=$((total[$key] + t1 - t0))
			line=$(grep '^xenvd-io:' "$tmp/err" | tail -n1)
			[ -n "$line" ] || continue
			local r w fl
			read -r r w fl <<<"${io[$key]}"
			read -r _ f <<<"$line"
			for f in $f; do
				case $f in
				reads=*) r=$((r + ${f#reads=})) ;;
				writes=*) w=$((w + ${f#writes=})) ;;
				flushes=*) fl=$((fl + ${f#flushes=})) ;;
				esac
			done
			io[$key]="$r $w $fl"
		done
	done
}

for n in $SIZES; do
	setup file "$n"
	setup pool "$n"
	timeit create "$n" "$XL_VD" create 1M
	timeit show "$n" "$XL_VD" show 5
	timeit dbadd "$n" "$DBPHASE" add 7 /local/domain/0/backend/vbd/7/%d
	timeit dbremove "$n" "$DBPHASE" remove /local/domain/0/backend/vbd/7/%d
	timeit delete "$n" "$XL_VD" delete %v --force
done

echo "bench_onpool: $RUNS runs per figure, whole processes, mean per operation"
printf '%-10s %9s %10s %12s %7s  %s\n' op extents "file ms" "on-pool ms" ratio \
	"on-pool reads/writes/flushes per op"
for n in $SIZES; do
	for op in create show delete dbadd dbremove; do
		f=${total[$op-file-$n]} p=${total[$op-pool-$n]}
		read -r r w fl <<<"${io[$op-pool-$n]}"
		printf '%-10s %9s %10s %12s %7s  %s\n' "$op" "$n" \
			"$(awk -v t="$f" -v n="$RUNS" 'BEGIN { printf "%.1f", t / n / 1000 }')" \
			"$(awk -v t="$p" -v n="$RUNS" 'BEGIN { printf "%.1f", t / n / 1000 }')" \
			"$(awk -v a="$p" -v b="$f" 'BEGIN { printf "%.2f", a / b }')" \
			"$((r / RUNS))/$((w / RUNS))/$((fl / RUNS))"
	done
done
