#!/bin/bash
# Builds a non-amd64 Linux fixture the runtime's translation tests and the
# crash-triage tests (arm64) read:
#   bash kernel-fixture.sh arm64|i386
#   $KVMGEN_CACHE/linux-ARCH/{vmlinux,vmlinuz,System.map,VERSION}
#   $KVMGEN_CACHE/linux-ARCH/dumps/{elf.vmcore,kdump-zlib.vmcore,INPUTS}
#   $KVMGEN_CACHE/linux-ARCH/dumps/truth/{uname.txt,version.txt}
# and for arm64 the guest's own view of itself (see docs/fixtures.md):
#   dumps/truth/{markers.txt,dmesg.txt,dmesg-raw.txt,modules,pids.txt,
#   kallsyms.gz,proc/PID/{stat,status,cmdline,environ,maps,stack},
#   proc/PID/task/TID/{stat,stack}}
# A Debian kernel (dbg + image packages, fetched with a private apt lists
# folder for that architecture, so the machine's apt state is untouched):
# arm64 cloud under qemu-system-aarch64, i386 686-pae under qemu-system-i386
# (TCG), with a busybox initramfs that loads qemu_fw_cfg (VMCOREINFO in the
# dumps) and prints the guest's own view of itself (the oracle); then QEMU's
# monitor dumps it, plain ELF and kdump-compressed. The arm64 guest also
# loads virtio (mmio, blk), starts three marker processes asleep in pause()
# (scripts/guest/marker.c, built with aarch64-linux-gnu-gcc -static) and
# writes its truth as a tar archive to a virtio disk.
# Cached: redone when the digest of the inputs (this script, marker.c, the
# kernel release, busybox) differs from dumps/INPUTS, or with
# KVMGEN_ARM64_FORCE=1.
# Needs: apt-get, dpkg-deb, cpio, gzip, socat, qemu-system-arm, qemu-system-x86,
# and for arm64 gcc-aarch64-linux-gnu + libc6-dev-arm64-cross.
set -euo pipefail
ARCH=${1:?usage: kernel-fixture.sh arm64|i386}
CACHE=${KVMGEN_CACHE:-$HOME/.cache/kvmgen}
case $ARCH in
arm64)
	META=linux-image-cloud-arm64-dbg
	KVER=${KVMGEN_ARM64_KVER:-}
	QEMU=(qemu-system-aarch64 -M virt -cpu cortex-a57)
	CONSOLE=ttyAMA0
	;;
i386)
	META=linux-image-686-pae-dbg
	KVER=${KVMGEN_I386_KVER:-}
	QEMU=(qemu-system-i386 -cpu max)
	CONSOLE=ttyS0
	;;
*) echo "unknown architecture $ARCH" >&2; exit 2 ;;
esac
OUT=$CACHE/linux-$ARCH
W=$CACHE/$ARCH-work
SELF=$(realpath "$0")
REPO=$(cd "$(dirname "$SELF")/../.." && pwd)
MARKER_SRC=$REPO/scripts/guest/marker.c
# The digest of what the guest and its dumps depend on (the kernel release
# is added once known).
inputs() {
	{
		cat "$SELF"
		[ "$ARCH" != arm64 ] || cat "$MARKER_SRC"
		cat "$W/release" 2>/dev/null
		ls "$W"/busybox-static_*.deb 2>/dev/null
	} | sha256sum | cut -d' ' -f1
}
cached() {
	[ -s "$OUT/vmlinux" ] && [ -s "$OUT/dumps/elf.vmcore" ] && [ -s "$OUT/dumps/kdump-zlib.vmcore" ] &&
		[ -s "$OUT/dumps/truth/version.txt" ] || return 1
	if [ "$ARCH" = arm64 ]; then
		[ -s "$OUT/dumps/truth/markers.txt" ] && [ -s "$OUT/dumps/truth/dmesg.txt" ] || return 1
	elif [ ! -e "$OUT/dumps/INPUTS" ]; then
		return 0 # an i386 fixture from before the digest: its guest has not changed
	fi
	[ "$(cat "$OUT/dumps/INPUTS" 2>/dev/null)" = "$(inputs)" ]
}
if [ -z "${KVMGEN_ARM64_FORCE:-}" ] && cached; then
	exit 0 # cached; KVMGEN_ARM64_FORCE=1 redoes it
fi
mkdir -p "$W/lists/partial" "$W/archives/partial" "$OUT/dumps/truth"
cd "$W"
APT=(-o APT::Architecture=$ARCH -o APT::Architectures=$ARCH -o "Dir::State::Lists=$W/lists" -o "Dir::Cache::Archives=$W/archives")
if [ ! -s "$OUT/vmlinux" ] || [ ! -x x/bin/busybox ]; then
	# A mirror mid-sync fails an index now and then: try again, and if one
	# index still fails, go on: the packages may be in the others, and the
	# download below fails clearly if they are not.
	for try in 1 2 3; do apt-get "${APT[@]}" update >/dev/null && break; sleep 15; done
	if [ -z "$KVER" ]; then
		# The release the metapackage currently points at.
		KVER=$(apt-cache "${APT[@]}" depends "$META" | sed -n 's/.*Depends: linux-image-\(.*\)-dbg$/\1/p' | head -1)
		[ -n "$KVER" ] || { echo "cannot resolve $META" >&2; exit 1; }
	fi
	echo "$KVER" > release
	IMGPKG=linux-image-$KVER
	if [ "$ARCH" = arm64 ]; then IMGPKG=$IMGPKG-unsigned; fi
	apt-get "${APT[@]}" download "linux-image-$KVER-dbg" "$IMGPKG" busybox-static >/dev/null
	rm -rf x && mkdir x
	dpkg-deb --fsys-tarfile linux-image-"$KVER"-dbg_*.deb | tar -x -C x --wildcards "*boot/vmlinux-$KVER" "*boot/System.map-$KVER"
	dpkg -x "$IMGPKG"_*.deb x
	dpkg -x busybox-static_*.deb x
	mv -f "x/usr/lib/debug/boot/vmlinux-$KVER" "$OUT/vmlinux"
	mv -f "x/usr/lib/debug/boot/System.map-$KVER" "$OUT/System.map"
fi
[ -n "$KVER" ] || KVER=$(cat release)
[ -s "$OUT/vmlinuz" ] || cp "x/boot/vmlinuz-$KVER" "$OUT/vmlinuz"
if [ ! -s "$OUT/System.map" ] && ls linux-image-"$KVER"-dbg_*.deb >/dev/null 2>&1; then
	# The real one (the image package's is a stub): data symbols, which
	# kallsyms lacks without CONFIG_KALLSYMS_ALL.
	dpkg-deb --fsys-tarfile linux-image-"$KVER"-dbg_*.deb | tar -xO --wildcards "*boot/System.map-$KVER" > "$OUT/System.map.tmp" &&
		mv -f "$OUT/System.map.tmp" "$OUT/System.map" || rm -f "$OUT/System.map.tmp"
fi
rm -rf rootfs && mkdir -p rootfs/{bin,proc,sys,dev,tmp,run,truth,lib/modules}
cp x/bin/busybox rootfs/bin/
for a in sh mount insmod sleep echo cat uname; do ln -s busybox "rootfs/bin/$a"; done
MODDIR=x/lib/modules/$KVER/kernel
cp "$MODDIR/drivers/firmware/qemu_fw_cfg.ko" rootfs/
QEMU_TRUTH=()
if [ "$ARCH" = arm64 ]; then
	# The marker processes (the amd64 guest's, cross-built) and virtio
	# (mmio transport, block) for the truth disk.
	command -v aarch64-linux-gnu-gcc >/dev/null || { echo "needs aarch64-linux-gnu-gcc (gcc-aarch64-linux-gnu, libc6-dev-arm64-cross)" >&2; exit 1; }
	aarch64-linux-gnu-gcc -static -O2 -pthread -o rootfs/bin/kvmgen-marker "$MARKER_SRC"
	for a in 1 2 3; do cp rootfs/bin/kvmgen-marker "rootfs/bin/kvmgen-marker-$a"; done
	rm rootfs/bin/kvmgen-marker
	cp "$MODDIR/drivers/virtio/virtio.ko" "$MODDIR/drivers/virtio/virtio_ring.ko" \
		"$MODDIR/drivers/virtio/virtio_mmio.ko" "$MODDIR/drivers/block/virtio_blk.ko" rootfs/lib/modules/
	rm -f truth.img && truncate -s 32M truth.img
	QEMU_TRUTH=(-drive file="$W/truth.img",format=raw,if=none,id=truth -device virtio-blk-device,drive=truth)
	cat > rootfs/init <<'INIT'
#!/bin/sh
# The arm64 fixture guest (runtime/testdata/kernel-fixture.sh): marker
# processes asleep in pause(), then its own view of itself (the truth) as a
# tar archive on /dev/vda, then KVMGEN-READY and a wait without children.
export PATH=/bin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
fail() { echo "kvmgen-guest: $*"; echo KVMGEN-FAILED; while :; do sleep 3600; done; }
insmod /qemu_fw_cfg.ko || fail "insmod qemu_fw_cfg"
for m in virtio_ring virtio virtio_mmio virtio_blk; do
	insmod /lib/modules/$m.ko || fail "insmod $m"
done
echo "UNAME=$(uname -r)"
echo "VERSION=$(cat /proc/version)"
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do usleep 100000; i=$((i+1)); done
[ -b /dev/vda ] || fail "no /dev/vda (the truth disk)"

# kvmgen-marker-1: three threads; kvmgen-marker-2: a zombie child;
# kvmgen-marker-3: stopped, its parent a subshell.
env -i KVMGEN_MARKER=1 KVMGEN_MODE=threads HOME=/root "KVMGEN_SPACES=a b  c" \
	/bin/kvmgen-marker-1 --marker=1 "two words" "" last-arg &
m1=$!
env -i KVMGEN_MARKER=2 KVMGEN_MODE=zombie A=1 B=22 LANG=C.UTF-8 /bin/kvmgen-marker-2 --marker=2 x y &
m2=$!
(
	env -i KVMGEN_MARKER=3 PATH=/bin /bin/kvmgen-marker-3 --marker=3 -x &
	echo $! > /run/m3.pid
	wait
) &
m3sh=$!
while [ ! -s /run/m3.pid ]; do usleep 50000; done
m3=$(cat /run/m3.pid)
for p in $m1 $m2 $m3; do
	i=0
	until grep -q '^VmLck:[[:space:]]*[1-9]' /proc/$p/status 2>/dev/null || [ $i -gt 400 ]; do
		usleep 50000; i=$((i+1))
	done
done
kill -STOP $m3
sleep 1

T=/truth
printf '%s %s\n' kvmgen-marker-1 $m1 kvmgen-marker-2 $m2 kvmgen-marker-3 $m3 kvmgen-marker-3-parent $m3sh > $T/markers.txt
uname -r > $T/uname.txt
cat /proc/version > $T/version.txt
cat /proc/cmdline > $T/cmdline
gzip -c /proc/kallsyms > $T/kallsyms.gz
pids=""
for d in /proc/[0-9]*; do pids="$pids ${d#/proc/}"; done
echo $pids | tr ' ' '\n' > $T/pids.txt
cat /proc/modules > $T/modules
for p in $pids; do
	mkdir -p $T/proc/$p
	for f in stat status cmdline environ maps stack; do
		cat /proc/$p/$f > $T/proc/$p/$f 2>/dev/null
	done
	for t in /proc/$p/task/[0-9]*; do
		tid=${t##*/}
		mkdir -p $T/proc/$p/task/$tid
		cat $t/stat > $T/proc/$p/task/$tid/stat 2>/dev/null
		cat $t/stack > $T/proc/$p/task/$tid/stack 2>/dev/null
	done
done
# The kernel log last: raw (dmesg -r) and as dmesg shows it.
dmesg -r > $T/dmesg-raw.txt
dmesg > $T/dmesg.txt
cd $T && tar -cf /dev/vda . && sync
cd /
mkfifo /run/wait
echo KVMGEN-READY
while :; do read x < /run/wait; done
INIT
else
	cat > rootfs/init <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
insmod /qemu_fw_cfg.ko
echo "UNAME=$(uname -r)"
echo "VERSION=$(cat /proc/version)"
echo KVMGEN-READY
while :; do sleep 1000; done
INIT
fi
chmod +x rootfs/init
(cd rootfs && find . | LC_ALL=C sort | cpio -o -H newc 2>/dev/null | gzip) > initrd.gz
rm -f mon.sock serial.log elf.vmcore kdump-zlib.vmcore
"${QEMU[@]}" -m 512 -smp 1 -kernel "$OUT/vmlinuz" -initrd initrd.gz \
	-append "console=$CONSOLE panic=-1 quiet" -nographic -no-reboot -device vmcoreinfo \
	"${QEMU_TRUTH[@]}" \
	-monitor unix:mon.sock,server,nowait -serial file:serial.log >qemu.out 2>&1 &
QPID=$!
for _ in $(seq 1 ${KVMGEN_BOOT_TIMEOUT:-600}); do
	grep -aq 'KVMGEN-READY\|KVMGEN-FAILED' serial.log 2>/dev/null && break
	kill -0 $QPID 2>/dev/null || break
	sleep 1
done
grep -aq KVMGEN-READY serial.log || { kill $QPID 2>/dev/null; cat qemu.out serial.log >&2; echo "guest did not come up" >&2; exit 1; }
mon() { echo "$1" | socat -t 60 - UNIX-CONNECT:mon.sock >/dev/null; }
mon stop
mon "dump-guest-memory $W/elf.vmcore"
mon "dump-guest-memory -z $W/kdump-zlib.vmcore"
for _ in $(seq 1 120); do [ -s kdump-zlib.vmcore ] && ! fuser kdump-zlib.vmcore >/dev/null 2>&1 && break; sleep 1; done
sleep 2
mon quit || true
wait $QPID || true
rm -rf "$OUT/dumps/truth" && mkdir -p "$OUT/dumps/truth"
if [ "$ARCH" = arm64 ]; then
	tar -xf truth.img -C "$OUT/dumps/truth"
	[ -s "$OUT/dumps/truth/markers.txt" ] || { echo "the truth disk holds no markers.txt" >&2; exit 1; }
	rm -f truth.img
fi
# (The firmware's terminal escapes may precede the first line.)
grep -ao 'UNAME=.*' serial.log | sed 's/^UNAME=//' | tr -d '\r' > "$OUT/dumps/truth/uname.txt"
grep -ao 'VERSION=.*' serial.log | sed 's/^VERSION=//' | tr -d '\r' > "$OUT/dumps/truth/version.txt"
mv -f elf.vmcore kdump-zlib.vmcore "$OUT/dumps/"
echo "release=$KVER" > "$OUT/VERSION"
inputs > "$OUT/dumps/INPUTS"
ls -l "$OUT" "$OUT/dumps" >&2
