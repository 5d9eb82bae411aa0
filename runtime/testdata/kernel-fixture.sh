#!/bin/bash
# Builds a non-amd64 Linux fixture the runtime's translation tests read:
#   bash kernel-fixture.sh arm64|i386
#   $KVMGEN_CACHE/linux-ARCH/{vmlinux,VERSION}
#   $KVMGEN_CACHE/linux-ARCH/dumps/{elf.vmcore,kdump-zlib.vmcore}
#   $KVMGEN_CACHE/linux-ARCH/dumps/truth/{uname.txt,version.txt}
# A Debian kernel (dbg + image packages, fetched with a private apt lists
# folder for that architecture, so the machine's apt state is untouched):
# arm64 cloud under qemu-system-aarch64, i386 686-pae under qemu-system-i386
# (TCG), with a busybox initramfs that loads qemu_fw_cfg (VMCOREINFO in the
# dumps) and prints the guest's own view of itself (the oracle); then QEMU's
# monitor dumps it, plain ELF and kdump-compressed.
# Needs: apt-get, dpkg-deb, cpio, gzip, socat, qemu-system-arm, qemu-system-x86.
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
if [ -z "${KVMGEN_ARM64_FORCE:-}" ] && [ -s "$OUT/vmlinux" ] && [ -s "$OUT/dumps/elf.vmcore" ] &&
	[ -s "$OUT/dumps/kdump-zlib.vmcore" ] && [ -s "$OUT/dumps/truth/version.txt" ]; then
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
	dpkg-deb --fsys-tarfile linux-image-"$KVER"-dbg_*.deb | tar -x -C x --wildcards "*boot/vmlinux-$KVER"
	dpkg -x "$IMGPKG"_*.deb x
	dpkg -x busybox-static_*.deb x
	mv -f "x/usr/lib/debug/boot/vmlinux-$KVER" "$OUT/vmlinux"
fi
[ -n "$KVER" ] || KVER=$(cat release)
[ -s "$OUT/vmlinuz" ] || cp "x/boot/vmlinuz-$KVER" "$OUT/vmlinuz"
rm -rf rootfs && mkdir -p rootfs/{bin,proc,sys,dev,tmp}
cp x/bin/busybox rootfs/bin/
for a in sh mount insmod sleep echo cat uname; do ln -s busybox "rootfs/bin/$a"; done
cp "x/lib/modules/$KVER/kernel/drivers/firmware/qemu_fw_cfg.ko" rootfs/
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
chmod +x rootfs/init
(cd rootfs && find . | cpio -o -H newc 2>/dev/null | gzip) > initrd.gz
rm -f mon.sock serial.log elf.vmcore kdump-zlib.vmcore
"${QEMU[@]}" -m 512 -smp 1 -kernel "$OUT/vmlinuz" -initrd initrd.gz \
	-append "console=$CONSOLE panic=-1 quiet" -nographic -no-reboot -device vmcoreinfo \
	-monitor unix:mon.sock,server,nowait -serial file:serial.log >qemu.out 2>&1 &
QPID=$!
for _ in $(seq 1 300); do
	grep -q KVMGEN-READY serial.log 2>/dev/null && break
	kill -0 $QPID 2>/dev/null || break
	sleep 1
done
grep -q KVMGEN-READY serial.log || { kill $QPID 2>/dev/null; cat qemu.out >&2; echo "guest did not come up" >&2; exit 1; }
mon() { echo "$1" | socat -t 60 - UNIX-CONNECT:mon.sock >/dev/null; }
mon stop
mon "dump-guest-memory $W/elf.vmcore"
mon "dump-guest-memory -z $W/kdump-zlib.vmcore"
for _ in $(seq 1 120); do [ -s kdump-zlib.vmcore ] && ! fuser kdump-zlib.vmcore >/dev/null 2>&1 && break; sleep 1; done
sleep 2
mon quit || true
wait $QPID || true
# (The firmware's terminal escapes may precede the first line.)
grep -ao 'UNAME=.*' serial.log | sed 's/^UNAME=//' | tr -d '\r' > "$OUT/dumps/truth/uname.txt"
grep -ao 'VERSION=.*' serial.log | sed 's/^VERSION=//' | tr -d '\r' > "$OUT/dumps/truth/version.txt"
mv -f elf.vmcore kdump-zlib.vmcore "$OUT/dumps/"
echo "release=$KVER" > "$OUT/VERSION"
ls -l "$OUT" "$OUT/dumps" >&2
