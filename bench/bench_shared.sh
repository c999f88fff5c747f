#!/bin/bash
# A shared pool against the same pool unshared, whole processes side by side in one run:
# xl-vd create, show, delete and block-vd's database phase (bench_onpool_dbphase add/remove),
# each pool on its own loop device with its database on it; the shared one behind a real
# sanlock daemon started here (no watchdog). Prints the mean per operation, the ratio
# shared/unshared, the extra time against the floor (one bare acquisition + release of the
# metadata lease, bench_lease, measured in the same run), and the lease acquisitions per
# operation ($XENVD_LEASE_STATS). Root, bash 5, sanlock. Not part of make check.
#   BENCH_RUNS=30  runs per figure     BENCH_IO_TIMEOUT=10  sanlock io_timeout (seconds)
set -u
XL_VD=${XL_VD:-xl-vd}
DBPHASE=${DBPHASE:-bench/bench_onpool_dbphase}
LEASE=${LEASE:-bench/bench_lease}
RUNS=${BENCH_RUNS:-30}
IO_TIMEOUT=${BENCH_IO_TIMEOUT:-10}

[ -n "${EPOCHREALTIME:-}" ] || { echo "SKIP: needs bash 5"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (loop devices, sanlock)"; exit 77; }
command -v sanlock >/dev/null || { echo "SKIP: no sanlock (apt-get install sanlock)"; exit 77; }
tmp=$(mktemp -d /tmp/bench-shared.XXXXXX)
loops=()
declare -A dbs
daemon_pid=
cleanup() {
	# lockspace-start started this host's active-VD lease holder: lockspace-stop ends it
	[ -n "${dbs[shared]:-}" ] && XENVD_DB=${dbs[shared]} "$XL_VD" lockspace-stop >/dev/null 2>&1
	if [ -n "$daemon_pid" ]; then
		SANLOCK_RUN_DIR=$tmp/sanlock sanlock client shutdown -f 1 >/dev/null 2>&1
		for ((i = 0; i < 50; i++)); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$daemon_pid" 2>/dev/null
	fi
	for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
export XENVD_CONF=$tmp/xenvd.conf XENVD_RUN_DIR=$tmp/run SANLOCK_RUN_DIR=$tmp/sanlock
printf 'host_id = 1\nlockspace_io_timeout = %s\n' "$IO_TIMEOUT" >"$XENVD_CONF"

mkdir -p "$SANLOCK_RUN_DIR"
SANLOCK_PRIVILEGED=0 sanlock daemon -D -w 0 -l 0 >"$tmp/sanlock.log" 2>&1 &
daemon_pid=$!
for ((i = 0; i < 100; i++)); do
	sanlock client status >/dev/null 2>&1 && break
	sleep 0.1
done
sanlock client status >/dev/null 2>&1 || { echo "SKIP: sanlock does not start: $(tail -n 2 "$tmp/sanlock.log")"; exit 77; }

# setup KIND: a pool of 4000 extents of 64K on a loop device, its database on it; 20 VDs of
# 1 MiB to work on. KIND shared: format --shared and join its lockspace.
setup() {
	local kind=$1 dir=$tmp/$1 dev
	mkdir -p "$dir"
	truncate -s $((4000 * 65536 + 256 * 1048576)) "$dir/dev.img"
	dev=$(losetup -f --show "$dir/dev.img") || { echo "SKIP: losetup failed"; exit 77; }
	loops+=("$dev")
	dbs[$kind]=$dir/db/xenvd.db
	export XENVD_DB=${dbs[$kind]}
	if [ "$kind" = shared ]; then
		"$XL_VD" format "$dev" --extent-size 64K --max-extents 5000 --shared >/dev/null || exit 1
		"$XL_VD" lockspace-start >/dev/null || exit 1
	else
		"$XL_VD" format "$dev" --extent-size 64K --max-extents 5000 >/dev/null || exit 1
	fi
	for ((i = 0; i < 20; i++)); do "$XL_VD" create 1M >/dev/null || exit 1; done
	unset XENVD_DB
}

# timeit OP CMD...: RUNS runs of CMD (each a new process) on the unshared and the shared pool,
# interleaved so that a busy machine weighs on both alike; "%d" in CMD is the run number, "%v"
# the id of the VD the run-th timed create made. Lease acquisitions counted for the shared one.
declare -A total acq
timeit() {
	local op=$1 t0 t1 i kind
	shift
	local cmd=("$@")
	total[$op-unshared]=0 total[$op-shared]=0
	rm -f "$tmp/stats"
	for ((i = 1; i <= RUNS; i++)); do
		local args=("${cmd[@]//%d/$i}")
		args=("${args[@]//%v/$((20 + i))}")
		for kind in unshared shared; do
			t0=${EPOCHREALTIME/./}
			XENVD_DB=${dbs[$kind]} XENVD_LEASE_STATS=$tmp/stats "${args[@]}" >/dev/null \
				2>"$tmp/err" || { cat "$tmp/err"; exit 1; }
			t1=${EPOCHREALTIME/./}
			total[$op-$kind]=$((total[$op-$kind] + t1 - t0))
		done
	done
	acq[$op]=$(wc -l <"$tmp/stats" 2>/dev/null || echo 0)
}

setup unshared
setup shared
timeit create "$XL_VD" create 1M
timeit show "$XL_VD" show 5
timeit dbadd "$DBPHASE" add 7 /local/domain/0/backend/vbd/7/%d
timeit dbremove "$DBPHASE" remove /local/domain/0/backend/vbd/7/%d
timeit delete "$XL_VD" delete %v --force
floor=$(XENVD_DB=${dbs[shared]} "$LEASE" "$RUNS") || exit 1
acq_us=${floor#acquire_us=}
acq_us=${acq_us%% *}
rel_us=${floor##*release_us=}
floor_us=$((acq_us + rel_us))

echo "bench_shared: $RUNS runs per figure, whole processes, mean per operation" \
	"(sanlock io_timeout $IO_TIMEOUT s)"
echo "floor: one bare lease acquisition $(awk -v t="$acq_us" 'BEGIN { printf "%.2f", t / 1000 }') ms" \
	"+ release $(awk -v t="$rel_us" 'BEGIN { printf "%.2f", t / 1000 }') ms (bench_lease, $RUNS times)"
printf '%-10s %12s %10s %7s %10s %8s %12s\n' op "unshared ms" "shared ms" ratio "extra ms" \
	"x floor" "leases/op"
for op in create show delete dbadd dbremove; do
	u=${total[$op-unshared]} s=${total[$op-shared]}
	printf '%-10s %12s %10s %7s %10s %8s %12s\n' "$op" \
		"$(awk -v t="$u" -v n="$RUNS" 'BEGIN { printf "%.2f", t / n / 1000 }')" \
		"$(awk -v t="$s" -v n="$RUNS" 'BEGIN { printf "%.2f", t / n / 1000 }')" \
		"$(awk -v a="$s" -v b="$u" 'BEGIN { printf "%.2f", a / b }')" \
		"$(awk -v a="$s" -v b="$u" -v n="$RUNS" 'BEGIN { printf "%.2f", (a - b) / n / 1000 }')" \
		"$(awk -v a="$s" -v b="$u" -v n="$RUNS" -v f="$floor_us" 'BEGIN { printf "%.2f", (a - b) / n / f }')" \
		"$(awk -v a="${acq[$op]}" -v n="$RUNS" 'BEGIN { printf "%.2f", a / n }')"
done
