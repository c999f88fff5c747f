#!/bin/bash
# The two-host test bed (make e2e-shared): two Xen 4.17 hosts, A (host id 1) and B (host id 2), in
# two QEMUs (TCG) sharing the pool disk (cache=none, share-rw=on, file.locking=off), sanlock and
# wdmd with xen_wdt in each dom0, virtio-rng, and a virtio-serial port "mig" joined by one Unix
# socket between the two QEMUs as the byte stream of `xl migrate` (no IP anywhere). This script is
# the driver: it builds one dom0 initramfs (tests/e2e/host-lib.sh, as the single-host bed does,
# plus sanlock), boots both hosts, and sends each host's agent (tests/e2e/shared.sh, reading the
# virtio-serial port "ctl") the steps to run, in order, reading their verdicts from the consoles.
#
#   tests/e2e/shared-run.sh [--build-dir DIR] [--deb FILE] [--work DIR] [--timeout SECS] [--keep]
# Environment:
#   XENVD_E2E=skip               exit 77 at once
#   XENVD_E2E_CACHE=DIR          the guest-side .deb cache (as run.sh)
#   XENVD_E2E_SHARED_STEPS="a b" run only these scenario steps (default: all but the optional ones)
#   XENVD_E2E_SHARED_IO=SECS     sanlock io_timeout of the bed's lockspaces (default 5)
#   XENVD_E2E_SHARED_VDS=N       VDs each host creates and deletes at once in step 3 (default 50)
#   XENVD_E2E_TIMEOUT=SECS       hard limit for each QEMU (default 1200)
# Console logs: WORK/consoleA.log, consoleB.log; the driver's own log: WORK/shared.log.
# Exit: 0 if every step run passed, 1 otherwise, 77 if QEMU/TCG cannot run here.
set -euo pipefail

if [ "${XENVD_E2E:-}" = skip ]; then
	echo "SKIP: e2e test bed disabled by XENVD_E2E=skip"
	exit 77
fi

here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
build_dir=${top_builddir:-}
work=""
timeout_s=${XENVD_E2E_TIMEOUT:-1200}
keep=0
deb=""
while [ $# -gt 0 ]; do
	case "$1" in
	--build-dir) build_dir=$2; shift ;;
	--build-dir=*) build_dir=${1#*=} ;;
	--deb) deb=$2; shift ;;
	--deb=*) deb=${1#*=} ;;
	--work) work=$2; shift ;;
	--work=*) work=${1#*=} ;;
	--timeout) timeout_s=$2; shift ;;
	--timeout=*) timeout_s=${1#*=} ;;
	--keep) keep=1 ;;
	-h|--help) sed -n '2,22p' "$0"; exit 0 ;;
	*) echo "e2e-shared: unknown argument '$1' (try --help)" >&2; exit 1 ;;
	esac
	shift
done
[ -n "$build_dir" ] || build_dir=$srcdir/build-e2e
build_dir=$(cd "$build_dir" && pwd) || { echo "e2e-shared: FAIL: build directory missing" >&2; exit 1; }
[ -n "$work" ] || work=$build_dir/tests/e2e/work-shared
mkdir -p "$work"
work=$(cd "$work" && pwd)
cache=${XENVD_E2E_CACHE:-$srcdir/tests/e2e/work/cache}
mkdir -p "$cache" 2>/dev/null || cache=$work/cache
mkdir -p "$cache"
io=${XENVD_E2E_SHARED_IO:-5}
nvds=${XENVD_E2E_SHARED_VDS:-50}

t0=$(date +%s)
. "$here/host-lib.sh"
skip77() { echo "SKIP: e2e-shared: $*"; exit 77; }

( e2e_host_packages ) || skip77 "QEMU cannot be installed or run on this machine"
# TCG with the CPU model the bed needs: QEMU must at least start (stopped, -S) and stay up
set +e
probe=$(timeout 5 qemu-system-x86_64 -machine q35,accel=tcg -cpu qemu64,+svm,+npt -nodefaults \
	-display none -S -no-reboot 2>&1)
prc=$?
set -e
[ $prc -eq 124 ] || skip77 "qemu-system-x86_64 with TCG does not run here (exit $prc: $(echo "$probe" | head -2))"

# guest side: the single-host bed's packages plus sanlock (wdmd is in package sanlock) and what
# ldd of sanlock needs
E2E_EXTRA_DEBS="sanlock libsanlock1 libsanlock-client1 libaio1 libblkid1 libuuid1"
E2E_EXTRA_MODS="xen_wdt virtio_console virtio-rng"
e2e_fetch_debs
e2e_unpack
e2e_install_xenvd
e2e_build_dom0
cp "$here/shared.sh" "$here/mig-relay.sh" "$root/e2e/"
chmod 755 "$root"/e2e/*.sh
echo "E2E_MODE=shared" >>"$root/e2e/env"
echo "E2E_STEPS=\"\"" >>"$root/e2e/env"
for b in sanlock wdmd; do
	[ -x "$root/usr/sbin/$b" ] || die "no /usr/sbin/$b in the dom0 tree (package sanlock)"
done
e2e_build_guests
say "building the dom0 initramfs"
mkcpio "$root" "$work/dom0.cpio" raw
xen=$work/xen
gzip -dc "$xen_gz" >"$xen"

# ---------------------------------------------------------------- shared disks
# pool: the shared pool (xl-vd format --shared); phy: a bootable ext4 (the guest of the phy:
# migration figures); lease: sanlock alone, before xenvd (infrastructure checks); scratch: B's
# first disk, so that the shared disks have other names on B than on A (found by label)
rm -f "$work"/{pool,phy,lease,scratchB}.img
truncate -s 1G "$work/pool.img"
truncate -s 8M "$work/lease.img"
truncate -s 16M "$work/scratchB.img"
gtree=$work/phyroot
rm -rf "$gtree"
mkdir -p "$gtree/boot/grub"
cp "$root/e2e/guest/vmlinuz" "$gtree/boot/vmlinuz-$kver"
cp "$root/e2e/guest/initrd-vd.gz" "$gtree/boot/initrd.img-$kver"
cat >"$gtree/boot/grub/grub.cfg" <<GRUB
set default=0
set timeout=0
menuentry 'xenvd e2e shared phy guest' {
	linux /boot/vmlinuz-$kver root=/dev/xvda ro console=hvc0 e2e.origin=phy-grub
	initrd /boot/initrd.img-$kver
}
GRUB
truncate -s 64M "$work/phy.img"
mke2fs -q -F -t ext4 -d "$gtree" -L e2ephy "$work/phy.img" 48M || die "mke2fs of phy.img failed"
rm -rf "$gtree"
# O_DIRECT on the host file (cache=none) where the file system has it; otherwise both QEMUs go
# through this host's one page cache, which keeps them coherent as well
cachemode=none
dd if=/dev/zero of="$work/lease.img" bs=4096 count=1 oflag=direct conv=notrunc 2>/dev/null ||
	cachemode=writethrough
rundir=$(mktemp -d /tmp/xenvd-e2e-shared.XXXXXX) # sockets and fifos: short paths

# ---------------------------------------------------------------- the hosts
declare -A ctlfd qpid hostid
hostid[A]=1 hostid[B]=2
log_of() { echo "$work/console$1.log"; }
qemu_pid() { cat "$rundir/qemu$1.pid" 2>/dev/null; }
# alive: its `timeout` still runs (it ends with QEMU; QEMU's own pid is for killing it)
host_alive() { [ -n "${qpid[$1]:-}" ] && kill -0 "${qpid[$1]}" 2>/dev/null; }
shared_disk() { # ID FILE SERIAL
	echo "-drive file=$2,if=none,id=$1,format=raw,cache=$cachemode,file.locking=off,aio=threads"
	echo "-device virtio-blk-pci,drive=$1,share-rw=on,serial=$3"
}
start_host() { # A|B
	local h=$1 mig extra=""
	rm -f "$rundir/qemu$h.pid"
	mkfifo "$rundir/ctl$h.in" "$rundir/ctl$h.out" "$rundir/mon$h.in" "$rundir/mon$h.out" 2>/dev/null || true
	exec {fd}<>"$rundir/ctl$h.in"
	ctlfd[$h]=$fd
	# the monitor's answers, drained into a file while QEMU runs
	cat "$rundir/mon$h.out" >>"$work/monitor$h.log" 2>/dev/null &
	if [ "$h" = A ]; then
		mig="socket,id=mig,path=$rundir/mig.sock,server=on,wait=off"
	else
		mig="socket,id=mig,path=$rundir/mig.sock,server=off,reconnect=1"
		extra="-drive file=$work/scratchB.img,if=none,id=s0,format=raw -device virtio-blk-pci,drive=s0,serial=e2e-scratch"
	fi
	# shellcheck disable=SC2046,SC2086
	timeout -k 10 "$timeout_s" qemu-system-x86_64 -machine q35,accel=tcg -cpu "${XENVD_E2E_CPU:-qemu64,+svm,+npt}" \
		-m 1536 -smp 1 -display none -no-reboot -serial stdio -monitor none -nic none \
		-pidfile "$rundir/qemu$h.pid" \
		-kernel "$xen" \
		-append "dom0_mem=768M,max:768M dom0_max_vcpus=1 console=com1 com1=115200,8n1 loglvl=all guest_loglvl=all" \
		-initrd "$vmlinuz console=hvc0 earlyprintk=xen loglevel=6 panic=-1 e2e.mode=shared e2e.host=$h e2e.hostid=${hostid[$h]} e2e.io=$io,$work/dom0.cpio" \
		$extra \
		$(shared_disk d0 "$work/pool.img" e2e-pool) \
		$(shared_disk d1 "$work/phy.img" e2e-phy) \
		$(shared_disk d2 "$work/lease.img" e2e-lease) \
		-object rng-random,id=rng0,filename=/dev/urandom -device virtio-rng-pci,rng=rng0 \
		-device virtio-serial-pci,id=vser0 \
		-chardev "$mig" -device virtserialport,bus=vser0.0,nr=1,chardev=mig,name=mig \
		-chardev pipe,id=ctl,path="$rundir/ctl$h" -device virtserialport,bus=vser0.0,nr=2,chardev=ctl,name=ctl \
		-chardev pipe,id=mon,path="$rundir/mon$h" -mon chardev=mon,mode=readline \
		</dev/null >"$(log_of "$h")" 2>&1 &
	qpid[$h]=$!
}
# the QEMU monitor of a host (HMP): one command, its answer in WORK/monitorH.log
monitor() { # HOST COMMAND...
	echo "$2" >"$rundir/mon$1.in"
}
stop_host() { # HOST: power off through the agent, else kill
	local h=$1 end
	if host_alive "$h"; then
		echo "end" >&"${ctlfd[$h]}"
		end=$((SECONDS + 40))
		while host_alive "$h" && [ $SECONDS -lt $end ]; do sleep 1; done
	fi
	host_alive "$h" && kill "${qpid[$h]}" 2>/dev/null
	wait "${qpid[$h]}" 2>/dev/null || true
}
cleanup() {
	local h
	for h in A B; do
		[ -n "${qpid[$h]:-}" ] || continue
		host_alive "$h" && kill "${qpid[$h]}" 2>/dev/null
		wait "${qpid[$h]}" 2>/dev/null || true
	done
	# the monitor drains end with their QEMU; anything else of ours
	jobs -p | xargs -r kill 2>/dev/null || true
	rm -rf "$rundir"
}
trap cleanup EXIT

# ---------------------------------------------------------------- talking to the agents
# hsend HOST FUNC LIMIT [ARGS]: queue a step on HOST's agent; its name (N-FUNC) in $sent
seq=0
declare -A limit_of
hsend() {
	local h=$1 f=$2 lim=$3
	shift 3
	seq=$((seq + 1))
	sent="$seq-$f"
	limit_of[$sent]=$lim
	echo "step $sent $lim $*" >&"${ctlfd[$h]}"
	echo "  -> $h: $f $* (limit ${lim}s)"
}
# hwait HOST NAME: the step's verdict (0 PASS, 77 SKIP, 1 FAIL or no verdict in time / host gone);
# the step's output lines are copied into this log
hwait() {
	local h=$1 n=$2 lim end line v
	lim=${limit_of[$n]:-300}
	end=$((SECONDS + lim + 60))
	while :; do
		line=$(grep -a -m1 "XENVD-E2E: step $n " "$(log_of "$h")" | tr -d '\r') && break
		if ! host_alive "$h"; then
			echo "  <- $h: $n: host $h is down (its QEMU exited)"
			return 1
		fi
		[ $SECONDS -ge $end ] && { echo "  <- $h: $n: no verdict within $((lim + 60))s"; return 1; }
		sleep 1
	done
	tr -d '\r' <"$(log_of "$h")" | grep -a "^  \[$n\] " | sed "s/^  \[$n\]/    $h|/"
	v=$(echo "$line" | awk '{print $4}')
	echo "  <- $h: $n $v $(echo "$line" | cut -d' ' -f5-)"
	case $v in
	PASS) return 0 ;;
	SKIP) why=$(echo "$line" | cut -d' ' -f5-); return 77 ;;
	*) why="host $h, $n: $(echo "$line" | cut -d' ' -f5-)"; return 1 ;;
	esac
}
on() { # HOST FUNC LIMIT [ARGS]: run a step and wait for it
	local h=$1
	hsend "$@"
	hwait "$h" "$sent"
}
both() { # FUNC LIMIT [ARGS]: the same step on A and B at once
	local na nb ra=0 rb=0
	hsend A "$@"; na=$sent
	hsend B "$@"; nb=$sent
	hwait A "$na" || ra=$?
	hwait B "$nb" || rb=$?
	[ $ra -eq 0 ] && [ $rb -eq 0 ]
}
value() { # HOST KEY: the last "XENVD-E2E: value KEY V" of HOST
	tr -d '\r' <"$(log_of "$1")" | grep -a -o "XENVD-E2E: value $2 .*" | tail -n 1 | cut -d' ' -f4-
}
figure() { echo "XENVD-E2E: figure $*"; figures="$figures$*"$'\n'; }
figures=""

# ---------------------------------------------------------------- the scenario's steps
# each returns 0, 77 or 1 with $why
sc_boot() {
	local h tb=$SECONDS
	: >"$(log_of A)"
	: >"$(log_of B)"
	start_host A
	start_host B
	for h in A B; do
		local end=$((SECONDS + 240))
		until grep -aq "XENVD-E2E: agent ready" "$(log_of "$h")"; do
			host_alive "$h" || { why="host $h's QEMU exited while booting"; return 1; }
			[ $SECONDS -ge $end ] && { why="host $h's agent not ready after 240 s"; return 1; }
			sleep 1
		done
	done
	figure "both hosts booted, agents ready after $((SECONDS - tb)) s (two QEMUs at once, TCG)"
}
sc_daemons() {
	both up 150 || return 1
	figure "xl usable at dom0 uptime A $(value A boot-to-xl) s, B $(value B boot-to-xl) s; sanlock+wdmd up at A $(value A daemons-up) s, B $(value B daemons-up) s"
}
# sanlock's own client commands across the hosts, on the lease disk
sc_sanlock() {
	on A sl-init 60 || return 1
	both sl-join 120 || return 1
	figure "sanlock add_lockspace (io_timeout $io s): A $(value A sl-join-secs) s, B $(value B sl-join-secs) s"
	both sl-hosts 90 2 || return 1
	on A sl-hold 60 || return 1
	on B sl-refused 60 || { why="B acquired r1 while A held it"; return 1; }
	on A sl-release 60 || return 1
	on B sl-acquire 60 30 || return 1
}
# xl migrate A -> B of a PVH guest on the shared phy: disk (stock block script)
sc_migrate_phy() {
	on A guest-start 300 mphy phy || return 1
	on B mig-recv 30 || return 1
	on A mig-send 240 mphy || { on B mig-recv-wait 90; return 1; }
	on B mig-recv-wait 90 || return 1
	figure "xl migrate A->B, PVH guest on phy: (stock block script): total $(value A mphy-migrate-total) s, paused $(value A mphy-migrate-pause) s"
	on B guest-alive 90 mphy || return 1
	on A guest-gone 30 mphy || return 1
	on B guest-stop 60 mphy || return 1
}

# ---------------------------------------------------------------- the shared pool, xl-vd
# 1. A formats the pool --shared, B imports it; both join (xl-vd lockspace-start); host-list
#    shows two live hosts on each
sc_join() {
	on A pool-format 180 || return 1
	on B pool-import 120 || return 1
	both ls-start 180 || return 1
	figure "xl-vd lockspace-start (io_timeout $io s): A $(value A ls-start-secs) s, B $(value B import-join-secs || true) s (when its pool-import said to); format --shared $(value A format-secs) s"
	both host-list 120 2 || return 1
}
# 2. A creates and imports a bootable VD (and a small one for read-only sharing); B lists them
sc_vd() {
	on A vd-root 300 || return 1
	root_id=$(value A root-id) ro_id=$(value A ro-id)
	on B vd-listed 60 sh-root sh-ro || return 1
}
# 3. both hosts create and delete VDs at once; no error, check passes on both, the ids unique
sc_churn() {
	local ia ib dup
	both churn $((nvds * 30 + 120)) "$nvds" || return 1
	ia=$(value A churn-ids) ib=$(value B churn-ids)
	dup=$(printf '%s\n' $ia $ib | sort | uniq -d | tr '\n' ' ')
	[ -z "$dup" ] || { why="VD ids given to both hosts: $dup"; return 1; }
	figure "churn: $nvds creates then $nvds deletes on each host at once: A $(value A churn-create-secs) s + $(value A churn-delete-secs) s, B $(value B churn-create-secs) s + $(value B churn-delete-secs) s ($((4 * nvds)) metadata transactions in all, TCG)"
	# the base: the same commands on an unshared pool of A's dom0, fewer of them (per-op figures)
	local nl=$((nvds < 20 ? nvds : 20))
	on A churn-local $((nl * 10 + 120)) "$nl" || return 1
	figure "$(awk -v sc="$(value A churn-create-secs)" -v sd="$(value A churn-delete-secs)" \
		-v lc="$(value A local-create-secs)" -v ld="$(value A local-delete-secs)" -v n="$nvds" -v nl="$nl" 'BEGIN {
		printf "metadata ops on A: create %.2f s, delete %.2f s each on the shared pool (%d of each, B busy at the same time) vs %.2f s, %.2f s on an unshared file-backed pool (%d of each): ratio %.1fx, %.1fx (whole xl-vd processes, TCG)",
			sc / n, sd / n, n, lc / nl, ld / nl, nl, (sc / n) / (lc / nl), (sd / n) / (ld / nl) }')"
	both check 180 || return 1
	on A gc 180 || return 1
	both check 180 || return 1
}
# 4. p1 boots on A from the VD (vdloader), and A's lease holder holds the pool's active lease;
#    B's rw use of it is refused naming host 1 and p1's domain; read-only sharing of sh-ro
#    across the hosts (sharing level 0)
sc_sharing() {
	local held=0
	[ -n "${root_id:-}" ] || { why="no VD from step vd"; return 1; }
	on A guest-start 300 p1 vd "$root_id" || return 1
	p1_domid=$(value A p1-domid)
	on A vd-held 60 "$root_id" p1 || return 1
	on A lease-held 30 || held=1
	on B refuse-rw 120 "$root_id" 1 "$p1_domid" || return 1
	on B map-refused 60 "$root_id" 1 || return 1
	on A ro-attach 120 p1 "$ro_id" || return 1
	on B ro-guest 200 "$ro_id" || return 1
	on A ro-detach 60 p1 || return 1
	[ $held = 0 ] || { why="host A runs p1 on a VD but its lease holder holds no active-VD lease: A would not be fenced"; return 1; }
}
# 5. xl migrate p1 A -> B: it keeps running and using its disk on B; A keeps nothing of it
sc_migrate_vd() {
	[ -n "${root_id:-}" ] || { why="no VD from step vd"; return 1; }
	on B mig-recv 30 || return 1
	on A mig-send 300 p1 || { on B mig-recv-wait 90; return 1; }
	on B mig-recv-wait 90 || return 1
	figure "xl migrate A->B, PVH guest on vd: (block-vd): total $(value A p1-migrate-total) s, paused $(value A p1-migrate-pause) s"
	local vt vp pt pp
	vt=$(value A p1-migrate-total) vp=$(value A p1-migrate-pause)
	pt=$(value A mphy-migrate-total) pp=$(value A mphy-migrate-pause)
	if [ -n "$pt" ] && [ -n "$vt" ]; then
		figure "$(awk -v vt="$vt" -v vp="$vp" -v pt="$pt" -v pp="$pp" 'BEGIN {
			printf "xl migrate A->B ratio vd/phy: total %.2fx", vt / pt
			if (vp > 0 && pp > 0) printf ", paused %.2fx", vp / pp }')"
	fi
	on B guest-alive 90 p1 || return 1
	on B vd-held 60 "$root_id" p1 || return 1
	on A vd-not-here 60 "$root_id" || return 1
}
# 7. B loses /var/lib/xenvd: pool-import brings back the VDs and the attachments (p1's, on B)
sc_reimport() {
	on B reimport 180 || return 1
}
# 6. A's QEMU is killed while p3 holds a VD rw there: B's attach is refused until sanlock declares
#    A dead, then succeeds; check --repair clears A's stale attachment
sc_failover() {
	local fid ts secs
	on A vd-create 60 sh-fail 16M || return 1
	fid=$(value A sh-fail-id)
	on A vd-guest-start 240 p3 "$fid" || return 1
	on B map-refused 60 "$fid" 1 || return 1
	kill -9 "$(qemu_pid A)" || { why="cannot kill host A's QEMU"; return 1; }
	echo "  host A's QEMU killed (p3 holds VD $fid rw there)"
	hsend B takeover $((8 * io + 60 + 180)) "$fid" 1 $((8 * io + 60 + 120)); ts=$sent
	hwait B "$ts" || return 1
	wait "${qpid[A]}" 2>/dev/null || true
	secs=$(value B takeover-secs)
	figure "failover: B attached A's VD $secs s after A's QEMU was killed; sanlock's host_dead = 8 x io_timeout + 60 = $((8 * io + 60)) s (io_timeout $io s) after A's last renewal; ratio $(awk -v s="$secs" -v f=$((8 * io + 60)) 'BEGIN{printf "%.2f", s / f}')"
	on B stale-repair 120 "$fid" 1 || return 1
}

# 6b. fencing: A (booted again if the failover step killed it) runs p5 on a VD; A's pool disk is
#    taken away through its QEMU monitor (drive_del: every I/O fails from then on). A cannot renew
#    its delta lease; its holder keeps the active-VD lease and sanlock cannot kill it, so wdmd
#    stops petting xen_wdt and Xen resets A (QEMU exits: -no-reboot) -- before B may attach p5's VD
sc_fencing() {
	local fid ts tcut tsend texit secs i
	if ! host_alive A; then
		mv "$(log_of A)" "$work/consoleA.before-fencing.log"
		: >"$(log_of A)"
		# A comes back as host 3: its old host id 1 could be joined again only once sanlock
		# has let its dead delta lease go (it took 112 s here)
		hostid[A]=3
		start_host A
		i=$((SECONDS + 240))
		until grep -aq "XENVD-E2E: agent ready" "$(log_of A)"; do
			host_alive A || { why="host A's QEMU exited while booting again"; return 1; }
			[ $SECONDS -ge $i ] && { why="host A's agent not ready after 240 s"; return 1; }
			sleep 1
		done
		on A up 150 || return 1
		on A pool-import 120 || return 1
		on A ls-start 180 || return 1
	fi
	on A vd-create 60 sh-fence 16M || return 1
	fid=$(value A sh-fence-id)
	on A vd-guest-start 240 p5 "$fid" || return 1
	on B map-refused 60 "$fid" "${hostid[A]}" || return 1
	on A sl-status 30 || return 1
	monitor A "info block"
	tcut=$(date +%s.%N)
	monitor A "drive_del d0"
	echo "  host A's pool disk deleted from its QEMU (drive_del d0); p5 holds VD $fid rw there"
	tsend=$(date +%s.%N)
	hsend B takeover $((8 * io + 60 + 180)) "$fid" "${hostid[A]}" $((8 * io + 60 + 120)); ts=$sent
	# what A's sanlock holds once its lease has expired (8 x io_timeout after the last renewal)
	sleep $((8 * io + 10))
	hsend A sl-status 30; local sa=$sent
	# A's end, as the host sees it
	texit=""
	while host_alive A; do
		sleep 0.5
		[ "$(awk -v a="$tcut" -v b="$(date +%s.%N)" 'BEGIN{print (b - a > 8 * '"$io"' + 60 + 120)}')" = 1 ] && break
	done
	host_alive A || texit=$(date +%s.%N)
	hwait B "$ts" || return 1
	secs=$(value B takeover-secs)
	tr -d '\r' <"$(log_of A)" | grep -a "^  \[$sa\] " | sed "s/^  \[$sa\]/    A|/"
	tr -d '\r' <"$(log_of A)" | grep -a -iE 'watchdog|sanlock|wdmd|reboot' | grep -v renewal | tail -n 12 | sed 's/^/    A console: /'
	[ -n "$texit" ] || { why="host A was not reset within $((8 * io + 180)) s of losing its pool disk"; return 1; }
	tr -d '\r' <"$(log_of A)" | grep -aq 'Watchdog timer fired' ||
		{ why="host A went down, but Xen does not say its watchdog fired"; return 1; }
	figure "fencing: A reset by its watchdog $(awk -v a="$tcut" -v b="$texit" 'BEGIN{printf "%.1f", b - a}') s after losing its pool disk; B attached A's VD $(awk -v a="$tcut" -v b="$tsend" -v s="$secs" 'BEGIN{printf "%.1f", b - a + s}') s after it (host_dead = $((8 * io + 60)) s)"
	[ "$(awk -v a="$texit" -v b="$tsend" -v s="$secs" 'BEGIN{print (a < b + s)}')" = 1 ] ||
		{ why="B attached A's VD before A was reset"; return 1; }
	on B stale-repair 120 "$fid" "${hostid[A]}" || return 1
}

# ---------------------------------------------------------------- runner
# the default list; also: sanlock (infrastructure), fencing (6b, after failover)
all_steps="boot daemons migrate-phy join vd churn sharing migrate-vd reimport failover"
steps=${XENVD_E2E_SHARED_STEPS:-$all_steps}
case " $steps " in *" boot "*) ;; *) steps="boot $steps" ;; esac
exec > >(tee "$work/shared.log") 2>&1
say "prepared in $(elapsed)s; two hosts (TCG, pool cache=$cachemode, io_timeout ${io}s), logs in $work"
declare -A result
for s in $steps; do
	fn=sc_$(echo "$s" | tr '-' '_')
	echo "XENVD-E2E: begin $s at +$(elapsed)s"
	why=""
	ts=$SECONDS
	rc=0
	if ! declare -F "$fn" >/dev/null; then
		rc=1 why="no such step"
	else
		"$fn" || rc=$?
	fi
	case $rc in
	0) v=PASS why="($((SECONDS - ts))s)" ;;
	77) v=SKIP ;;
	*) v=FAIL ;;
	esac
	result[$s]=$v
	echo "XENVD-E2E: time $s $((SECONDS - ts))s"
	echo "XENVD-E2E: step $s $v $why"
	[ "$s" = boot ] && [ $v != PASS ] && break
done
for h in A B; do stop_host "$h"; done

echo
echo "================ xenvd e2e-shared summary ================"
e2e_summary "$work/shared.log"
[ -n "$figures" ] && { echo "figures:"; printf '%s' "$figures" | sed 's/^/  /'; }
echo "  whole run $(elapsed)s; console logs: $work/consoleA.log, $work/consoleB.log"
echo "$npass passed, $nfail failed, $nskip skipped"
if [ $nfail -ne 0 ] || [ $npass -eq 0 ]; then
	for h in A B; do
		echo "---------------- tail of $(log_of $h) ----------------"
		tr -d '\r' <"$(log_of $h)" | tail -n 60
	done
	echo "---------------- e2e-shared FAILED:$fails"
	exit 1
fi
[ $keep -eq 1 ] || rm -rf "$root" "$groot" "$work/dom0.cpio"
echo "e2e-shared: all steps passed"
exit 0
