#!/bin/bash
# /init of the test bed's dom0 (no udev, no systemd): mounts, Xen modules, xenstored, xen-init-dom0,
# xenconsoled, then the scenario (or the benchmarks, or in the two-host bed the agent that runs the
# steps the host sends), then power off. Every verdict is a
# "XENVD-E2E:" line on the console, which the host (tests/e2e/run.sh) reads.
export PATH=/usr/sbin:/usr/bin
export HOME=/root TERM=dumb
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
# locking.sh runs `stat /dev/stdin` and spins forever without these (XEN-IN-QEMU.md pitfall 1)
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
echo "XENVD-E2E: dom0 init uptime=$(cut -d' ' -f1 /proc/uptime)"

. /e2e/env
. /e2e/lib.sh

for m in $E2E_MODS; do
	modprobe "$m" 2>/dev/null || e2e_log "modprobe $m failed"
done
mount -t xenfs xenfs /proc/xen || e2e_log "cannot mount xenfs"
mkdir -p /var/lib/xen /var/log/xen/console /run/xen /run/xenstored /var/lib/xenstored \
	/run/xen-hotplug /var/lib/xenvd /etc/xen/auto
/usr/lib/xen-4.17/bin/xenstored --pid-file=/run/xenstored.pid 2>/tmp/xenstored.err &
n=0
until xenstore-read / >/dev/null 2>&1; do
	n=$((n + 1))
	[ $n -gt 200 ] && break
	sleep 0.1
done
/usr/lib/xen-4.17/bin/xen-init-dom0 >/tmp/xen-init-dom0.log 2>&1 || e2e_log "xen-init-dom0 failed"
/usr/lib/xen-4.17/bin/xenconsoled --log=guest --log-dir=/var/log/xen/console 2>/tmp/xenconsoled.err
dmesg -n 4 2>/dev/null
e2e_log "dom0 daemons started at uptime=$(e2e_now)"

case "$E2E_MODE" in
bench) bash /e2e/bench.sh ;;
shared) bash /e2e/shared.sh --agent ;;
*) bash /e2e/scenario.sh ;;
esac

echo "XENVD-E2E: time whole-dom0-run $(e2e_now)s"
echo "XENVD-E2E: end"
sync
poweroff -f
sleep 5
echo o >/proc/sysrq-trigger
