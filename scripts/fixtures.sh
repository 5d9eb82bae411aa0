#!/usr/bin/env bash
# scripts/fixtures.sh: the real-kernel fixtures of kvmgen (docs/fixtures.md).
#
#   bash scripts/fixtures.sh [all]        kernel + guest + dumps + truth, then prev (`make fixtures`)
#   bash scripts/fixtures.sh kernel       only download and lay out the Debian kernel
#   bash scripts/fixtures.sh guest        ... and build the guest initramfs
#   bash scripts/fixtures.sh dumps        ... and boot it under QEMU, dump it, extract the truth
#   bash scripts/fixtures.sh panic       ... and only the panic dumps (dumps/panic/)
#   bash scripts/fixtures.sh smp          ... and only the per-CPU dump (dumps/smp/)
#   bash scripts/fixtures.sh many         ... and only the 10,000-task dump (dumps/many/;
#                                         not part of `all`: the benchmark's, 1.5 GB)
#   bash scripts/fixtures.sh prev         the same for the older kernel, in linux-amd64-prev/
#   bash scripts/fixtures.sh live OUTDIR [LSPROC]
#                                         boot the guest with a static lsproc (built from
#                                         ./examples/lsproc unless LSPROC is given) that reads
#                                         /proc/kcore; the guest's truth and lsproc's output
#                                         land in OUTDIR
#
# Everything is cached in ${KVMGEN_CACHE:-$HOME/.cache/kvmgen} and only
# rebuilt when missing or older than its inputs. Layout:
#   debs/                       the downloaded .deb packages
#   linux-amd64/vmlinux         the DWARF image (590 MB); vmlinuz, config, System.map,
#                               qemu_fw_cfg.ko, modules/*.ko (what the guest loads), VERSION
#   linux-amd64/guest/initrd.gz the guest initramfs (scripts/guest/)
#   linux-amd64/dumps/{elf,paging,kdump-zlib}.vmcore   QEMU dump-guest-memory (plain, -p, -z)
#   linux-amd64/dumps/truth/    the guest's own view at dump time (see docs/fixtures.md)
#   linux-amd64/dumps/panic/{elf,kdump-zlib}.vmcore, truth/   a guest that crashed (sysrq c)
#   linux-amd64/dumps/smp/elf.vmcore, truth/percpu.txt        two CPUs, a pinned spinner on each
#   linux-amd64/dumps/many/elf.vmcore, truth/many.txt         10,000 tasks (`fixtures.sh many`)
#   linux-amd64/dumps/TIMINGS   seconds spent booting and dumping
# Needs root for apt-get (only when something is missing).
set -euo pipefail

CACHE=${KVMGEN_CACHE:-$HOME/.cache/kvmgen}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
K=$CACHE/${KVMGEN_KDIR:-linux-amd64}
# The kernel the committed bindings (examples/lsproc) were generated from.
# When this exact package is gone from the archive, the version the
# metapackage linux-image-cloud-amd64-dbg depends on today is used instead
# (and recorded in linux-amd64/VERSION): the committed bindings then no
# longer match it and must be regenerated (make generate).
DEFAULT_KVER=6.1.0-56-cloud-amd64
KVER=${KVMGEN_KVER:-$DEFAULT_KVER}
# A second, older build of the same kernel series (bookworm main, 6.1.176-1):
# a real "other kernel" whose dumps the bindings for KVER must refuse, and
# a second data point for layout resolution. `all` builds it best-effort
# into linux-amd64-prev/ (UNAVAILABLE there says why not).
PREV_KVER=${KVMGEN_PREV_KVER:-6.1.0-50-cloud-amd64}
QEMU_MEM=${KVMGEN_QEMU_MEM:-512}
BOOT_TIMEOUT=${KVMGEN_BOOT_TIMEOUT:-600}

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
log() { echo "fixtures: $*" >&2; }
die() { echo "fixtures: error: $*" >&2; exit 1; }

# newer OUT IN...: true when OUT exists and is newer than every IN.
newer() {
	local out=$1; shift
	[ -e "$out" ] || return 1
	local f
	for f in "$@"; do
		[ "$f" -nt "$out" ] && return 1
	done
	return 0
}

need_pkgs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# link SRC DST: a hard link when possible (same file system, no copy of
# 590 MB), else a copy.
link() {
	rm -f "$2"
	ln "$1" "$2" 2>/dev/null || cp "$1" "$2"
}

# ---------------------------------------------------------------- kernel
find_deb() { ls -1 "$CACHE"/debs/"$1"_*_amd64.deb 2>/dev/null | sort -V | tail -1; }

# APT: options of every apt-get/apt-cache call for the kernel packages.
# Empty: the machine's own sources (bookworm). KVMGEN_SUITE=trixie (the
# `trixie` mode): a private configuration with trixie's index from the
# same mirror, so that the machine's apt state is untouched.
APT=()
if [ "${KVMGEN_SUITE:-}" = trixie ]; then
	AW=$CACHE/trixie-apt
	mkdir -p "$AW/lists/partial" "$AW/archives/partial"
	MIRROR=$(sed -n 's/^URIs: *\([^ ]*\/debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
	[ -n "$MIRROR" ] || MIRROR=$(sed -n 's/^deb \+\(http[^ ]*\/debian\) .*/\1/p' /etc/apt/sources.list 2>/dev/null | head -1)
	[ -n "$MIRROR" ] || die "no Debian mirror found in the apt sources"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR trixie main" > "$AW/sources.list"
	APT=(-o APT::Architecture=amd64 -o APT::Architectures=amd64 -o "Dir::Etc::SourceList=$AW/sources.list"
		-o Dir::Etc::SourceParts=/nonexistent -o "Dir::State::Lists=$AW/lists" -o "Dir::Cache::Archives=$AW/archives")
fi
apt_update() { apt-get "${APT[@]}" update -qq || true; }

download() { # PKG
	local deb
	deb=$(find_deb "$1")
	if [ -n "$deb" ]; then echo "$deb"; return; fi
	mkdir -p "$CACHE/debs"
	log "downloading $1"
	(cd "$CACHE/debs" && apt-get "${APT[@]}" download -q "$1" >&2) || return 1
	find_deb "$1"
}

do_kernel() {
	need_pkgs binutils xz-utils
	mkdir -p "$CACHE/debs" "$K"
	local dbg uns
	dbg=$(download "linux-image-$KVER-dbg" || true)
	if [ -z "$dbg" ]; then
		# A fresh machine may have no package lists yet.
		apt_update
		dbg=$(download "linux-image-$KVER-dbg" || true)
	fi
	if [ -z "$dbg" ] && [ -n "${KVMGEN_NO_FALLBACK:-}" ]; then
		echo "linux-image-$KVER-dbg cannot be downloaded (apt-get download failed on $(date -u +%F))" > "$K/UNAVAILABLE"
		log "$(cat "$K/UNAVAILABLE"); skipping $K"
		exit 0
	fi
	if [ -z "$dbg" ]; then
		local dep
		dep=$(apt-cache "${APT[@]}" depends linux-image-cloud-amd64-dbg 2>/dev/null |
			awk '/Depends: linux-image-[0-9].*-dbg/ { print $2; exit }')
		[ -n "$dep" ] || die "cannot resolve linux-image-cloud-amd64-dbg's versioned package"
		[ "$KVER" = none ] || log "linux-image-$KVER-dbg unavailable; using $dep"
		KVER=${dep#linux-image-}; KVER=${KVER%-dbg}
		dbg=$(download "linux-image-$KVER-dbg") || die "cannot download linux-image-$KVER-dbg"
	fi
	uns=$(download "linux-image-$KVER-unsigned") || die "cannot download linux-image-$KVER-unsigned"

	local vml=$CACHE/usr/lib/debug/boot/vmlinux-$KVER
	if ! newer "$vml" "$dbg"; then
		log "extracting vmlinux from $(basename "$dbg")"
		# Into a temporary folder first: an interrupted extraction must not
		# leave a truncated vmlinux that looks newer than its package.
		local X=$CACHE/extract.tmp
		rm -rf "$X"; mkdir -p "$X" "$(dirname "$vml")"
		dpkg-deb --fsys-tarfile "$dbg" | tar -x -C "$X" --wildcards "./usr/lib/debug/boot/vmlinux-$KVER"
		touch "$X/usr/lib/debug/boot/vmlinux-$KVER"
		mv -f "$X/usr/lib/debug/boot/vmlinux-$KVER" "$vml"
		rm -rf "$X"
	fi
	# The image package's System.map is a placeholder ("The real System.map
	# is in the linux-image-<version>-dbg package"): take the dbg one.
	local map=$CACHE/usr/lib/debug/boot/System.map-$KVER
	if ! newer "$map" "$dbg"; then
		log "extracting System.map from $(basename "$dbg")"
		local X=$CACHE/extract.tmp
		rm -rf "$X"; mkdir -p "$X"
		dpkg-deb --fsys-tarfile "$dbg" | tar -x -C "$X" --wildcards "./usr/lib/debug/boot/System.map-$KVER"
		touch "$X/usr/lib/debug/boot/System.map-$KVER"
		mv -f "$X/usr/lib/debug/boot/System.map-$KVER" "$map"
		rm -rf "$X"
	fi
	local U=$CACHE/unsigned
	[ "$KVER" = "$DEFAULT_KVER" ] || U=$CACHE/unsigned-$KVER
	if ! newer "$U/boot/vmlinuz-$KVER" "$uns"; then
		log "extracting $(basename "$uns")"
		rm -rf "$U.tmp"
		dpkg -x "$uns" "$U.tmp"
		touch "$U.tmp/boot/vmlinuz-$KVER"
		rm -rf "$U"
		mv "$U.tmp" "$U"
	fi
	local MR=$U/lib/modules/$KVER
	[ -d "$MR" ] || MR=$U/usr/lib/modules/$KVER # merged /usr (trixie)
	local M=$MR/kernel/drivers
	newer "$K/vmlinux" "$vml" || link "$vml" "$K/vmlinux"
	link "$U/boot/vmlinuz-$KVER" "$K/vmlinuz"
	link "$U/boot/config-$KVER" "$K/config"
	link "$map" "$K/System.map"
	[ -e "$M/firmware/qemu_fw_cfg.ko" ] && link "$M/firmware/qemu_fw_cfg.ko" "$K/qemu_fw_cfg.ko"
	rm -rf "$K/modules"
	mkdir -p "$K/modules"
	local m
	for m in firmware/qemu_fw_cfg virtio/virtio virtio/virtio_ring virtio/virtio_pci_legacy_dev \
		virtio/virtio_pci_modern_dev virtio/virtio_pci block/virtio_blk; do
		if [ -e "$M/$m.ko" ]; then
			link "$M/$m.ko" "$K/modules/$(basename "$m").ko"
		elif [ -e "$M/$m.ko.xz" ]; then
			# 6.12 ships xz-compressed modules; busybox's insmod takes them
			# uncompressed (the signature stays appended).
			xz -dc "$M/$m.ko.xz" > "$K/modules/$(basename "$m").ko"
		elif ! grep -qx "kernel/drivers/$m.ko" "$MR/modules.builtin"; then
			die "module $m.ko missing from $(basename "$uns")"
		fi # else built in (6.12: virtio, virtio_ring, virtio_pci)
	done
	[ -e "$K/qemu_fw_cfg.ko" ] || cp "$K/modules/qemu_fw_cfg.ko" "$K/qemu_fw_cfg.ko"
	rm -f "$K/UNAVAILABLE"
	newer "$K/VERSION" "$dbg" "$uns" && return
	{
		echo "release=$KVER"
		echo "dbg_package=$(dpkg-deb -f "$dbg" Package) $(dpkg-deb -f "$dbg" Version)"
		echo "unsigned_package=$(dpkg-deb -f "$uns" Package) $(dpkg-deb -f "$uns" Version)"
		echo "dbg_sha256=$(sha256sum "$dbg" | cut -d' ' -f1)"
		echo "build_id=$(readelf -n "$K/vmlinux" | awk '/Build ID:/ { print $3; exit }')"
	} > "$K/VERSION.new"
	mv "$K/VERSION.new" "$K/VERSION"
	log "kernel ready: $(tr '\n' ' ' < "$K/VERSION")"
}

# ---------------------------------------------------------------- guest
GUEST_SRC=("$REPO/scripts/guest/init" "$REPO/scripts/guest/marker.c" "$REPO/scripts/guest/hog.c")

# stage DIR: the guest's root file system, without lsproc.
stage() {
	local S=$1
	rm -rf "$S"
	mkdir -p "$S"/{bin,dev,proc,sys,tmp,run,etc,lib/modules,root}
	cp /bin/busybox "$S/bin/busybox"
	local a
	for a in $("$S/bin/busybox" --list); do
		[ "$a" = busybox ] || ln -s busybox "$S/bin/$a"
	done
	gcc -static -O2 -pthread -o "$S/bin/kvmgen-marker" "$REPO/scripts/guest/marker.c"
	for a in 1 2 3 4; do cp "$S/bin/kvmgen-marker" "$S/bin/kvmgen-marker-$a"; done
	cp "$S/bin/kvmgen-marker" "$S/bin/kvmgen-spin"
	cp "$S/bin/kvmgen-marker" "$S/bin/kvmgen-many"
	rm "$S/bin/kvmgen-marker"
	gcc -static -O2 -o "$S/bin/kvmgen-hog" "$REPO/scripts/guest/hog.c"
	cp "$K"/modules/*.ko "$S/lib/modules/"
	cp "$REPO/scripts/guest/init" "$S/init"
	chmod 755 "$S/init"
}

# cpio_gz DIR OUT: a reproducible newc archive of DIR, gzipped.
cpio_gz() {
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --reproducible --quiet) | gzip -9n > "$2"
}

# guest_inputs: a digest of what the initramfs is built from. Digests, not
# file times, decide what to rebuild: a fresh clone (CI) has new file times
# but must reuse a cache whose inputs have not changed.
guest_inputs() {
	cat "${GUEST_SRC[@]}" /bin/busybox "$K"/modules/*.ko "$K/vmlinuz" | sha256sum | cut -d' ' -f1
}

do_guest() {
	need_pkgs busybox-static cpio gcc libc6-dev
	local G=$K/guest h
	h=$(guest_inputs)
	if [ -s "$G/initrd.gz" ] && [ "$(cat "$G/INPUTS" 2>/dev/null)" = "$h" ]; then return; fi
	log "building the guest initramfs"
	mkdir -p "$G"
	stage "$G/root"
	cpio_gz "$G/root" "$G/initrd.gz.new"
	mv "$G/initrd.gz.new" "$G/initrd.gz"
	echo "$h" > "$G/INPUTS"
	rm -rf "$G/root"
}

# ---------------------------------------------------------------- boot
# boot RUNDIR INITRD: boots the guest in the background with its disks and
# monitor in RUNDIR; waits for KVMGEN-READY on the serial console. Sets QPID.
boot() {
	local R=$1 initrd=$2
	need_pkgs qemu-system-x86 socat
	rm -f "$R/serial.log" "$R/mon.sock"
	truncate -s 0 "$R/swap.img" "$R/truth.img"
	truncate -s 128M "$R/swap.img"
	truncate -s 64M "$R/truth.img"
	local t0=$SECONDS t0n
	t0n=$(now)
	qemu-system-x86_64 -m "$QEMU_MEM" -smp "${BOOT_SMP:-1}" -kernel "$K/vmlinuz" -initrd "$initrd" \
		-append "${BOOT_APPEND:-console=ttyS0 panic=-1 quiet}" -nographic -no-reboot -device vmcoreinfo \
		-drive file="$R/swap.img",format=raw,if=virtio \
		-drive file="$R/truth.img",format=raw,if=virtio \
		${KVMGEN_LIVE_DISK:+-drive file="$KVMGEN_LIVE_DISK",format=raw,if=virtio,readonly=on} \
		-monitor unix:"$R/mon.sock",server,nowait -serial file:"$R/serial.log" \
		-display none </dev/null >"$R/qemu.out" 2>&1 &
	QPID=$!
	until grep -q KVMGEN-READY "$R/serial.log" 2>/dev/null; do
		if grep -q KVMGEN-FAILED "$R/serial.log" 2>/dev/null; then
			kill $QPID || true
			tail -50 "$R/serial.log" >&2 || true
			die "the guest failed (serial log above)"
		fi
		if ! kill -0 $QPID 2>/dev/null; then
			cat "$R/qemu.out" "$R/serial.log" >&2 || true
			die "QEMU exited before the guest was ready (log above)"
		fi
		if [ $((SECONDS - t0)) -gt "$BOOT_TIMEOUT" ]; then
			kill $QPID || true
			tail -50 "$R/serial.log" >&2 || true
			die "guest not ready after ${BOOT_TIMEOUT}s (serial log above)"
		fi
		sleep 0.5
	done
	BOOT_SECONDS=$(since "$t0n")
	log "guest ready after ${BOOT_SECONDS}s"
}

# monitor RUNDIR CMD...: runs HMP commands in one monitor session, in order
# (dump-guest-memory without -d completes before the next command starts).
monitor() {
	local R=$1; shift
	local c
	for c in "$@"; do echo "$c"; done | socat -t 900 - UNIX-CONNECT:"$R/mon.sock" >>"$R/monitor.log"
}

# truth RUNDIR OUT: extracts the guest's tar from the truth disk into OUT and
# derives tasks.txt ("PID PPID STATE COMM" of every process, from the
# guest's /proc/PID/stat) and threads.txt (the same per thread, with TGID).
truth() {
	local R=$1 O=$2
	rm -rf "$O"
	mkdir -p "$O"
	tar -xf "$R/truth.img" -C "$O"
	cp "$R/serial.log" "$O/serial.log"
	[ -s "$O/markers.txt" ] || die "truth disk holds no markers.txt"
	# stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses:
	# it ends at the last ")".
	statline() { # FILE -> "PID PPID STATE COMM"
		awk '{ l = $0; o = index(l, "("); c = 0
			for (i = length(l); i > 0; i--) if (substr(l, i, 1) == ")") { c = i; break }
			comm = substr(l, o + 1, c - o - 1); split(substr(l, c + 2), f, " ")
			printf "%s %s %s %s\n", substr(l, 1, o - 2), f[2], f[1], comm }' "$1"
	}
	local p t
	{
		echo "PID PPID STATE COMM"
		for p in $(cat "$O/pids.txt"); do
			[ -s "$O/proc/$p/stat" ] || continue
			statline "$O/proc/$p/stat"
		done | sort -n
	} > "$O/tasks.txt"
	{
		echo "TID TGID PPID STATE COMM"
		for p in $(cat "$O/pids.txt"); do
			for t in "$O"/proc/$p/task/*/; do
				[ -s "$t/stat" ] || continue # (many: no per-thread truth)
				statline "$t/stat" | awk -v g="$p" '{ c = $4; for (i = 5; i <= NF; i++) c = c " " $i; print $1, g, $2, $3, c }'
			done
		done | sort -n
	} > "$O/threads.txt"
}

do_dumps() {
	local D=$K/dumps h
	h=$(sha256sum < "$K/guest/initrd.gz" | cut -d' ' -f1)
	if [ "$(cat "$D/INPUTS" 2>/dev/null)" = "$h" ] && [ -s "$D/truth/tasks.txt" ] &&
		[ -s "$D/elf.vmcore" ] && [ -s "$D/paging.vmcore" ] && [ -s "$D/kdump-zlib.vmcore" ] &&
		[ -s "$D/swap.img" ]; then
		return
	fi
	local R=$K/run
	rm -rf "$R"
	mkdir -p "$R" "$D"
	log "booting the guest (TCG; -m $QEMU_MEM)"
	local KVMGEN_LIVE_DISK= # live mode only
	boot "$R" "$K/guest/initrd.gz"
	monitor "$R" stop
	local t d_elf d_paging d_kdump
	t=$(now); monitor "$R" "dump-guest-memory $R/elf.vmcore"; d_elf=$(since "$t")
	t=$(now); monitor "$R" "dump-guest-memory -p $R/paging.vmcore"; d_paging=$(since "$t")
	t=$(now); monitor "$R" "dump-guest-memory -z $R/kdump-zlib.vmcore"; d_kdump=$(since "$t")
	monitor "$R" quit || true
	wait "$QPID" || true
	local f
	for f in elf paging kdump-zlib; do
		[ -s "$R/$f.vmcore" ] || die "QEMU wrote no $f.vmcore (see $R/monitor.log)"
	done
	truth "$R" "$R/truth"
	rm -rf "$D/truth"
	for f in elf paging kdump-zlib; do
		chmod 0444 "$R/$f.vmcore"
		mv -f "$R/$f.vmcore" "$D/$f.vmcore"
	done
	mv "$R/truth" "$D/truth"
	# The guest's swap device as it was at the dump (the hog's pages pushed
	# out to it): the swapfile of kvm.Options.SwapFile (sparse, 128 MiB).
	chmod 0444 "$R/swap.img"
	mv -f "$R/swap.img" "$D/swap.img"
	{
		echo "boot_to_ready_s=$BOOT_SECONDS"
		echo "dump_elf_s=$d_elf"
		echo "dump_paging_s=$d_paging"
		echo "dump_kdump_zlib_s=$d_kdump"
		echo "qemu=$(qemu-system-x86_64 --version | head -1)"
	} > "$D/TIMINGS"
	echo "$h" > "$D/INPUTS"
	ls -l "$D"/*.vmcore >&2
	log "dumps ready: $(tr '\n' ' ' < "$D/TIMINGS")"
	rm -rf "$R"
}

# ---------------------------------------------------------------- variants
# do_variant NAME APPEND SMP MEM FORMATS PANIC: the same guest booted with
# other kernel parameters, dumped into dumps/NAME/ (FORMATS: elf, paging,
# kdump-zlib), with its truth. PANIC=1 waits for the kernel panic first.
#   panic  panic=0 kvmgen_panic on two CPUs: after its truth, /init crashes
#          the kernel through /proc/sysrq-trigger ("Kernel panic - not
#          syncing: sysrq triggered crash"); panic=0 keeps the panicked
#          kernel spinning, so QEMU stays up and dumps it.
#   smp    kvmgen_smp on two CPUs: a spinner pinned to each CPU
#          (truth/percpu.txt "CPU PID"), the per-CPU variables' truth.
#   many   kvmgen_tasks=10000: 100 processes of 100 threads each
#          (truth/many.txt), the task-walk scaling benchmark's dump.
do_variant() {
	local name=$1 append=$2 smp=$3 mem=$4 formats=$5 panic=$6
	local D=$K/dumps/$name h f
	h=$( (sha256sum < "$K/guest/initrd.gz"; echo "$append $smp $mem $formats") | sha256sum | cut -d' ' -f1)
	local ok=1
	for f in $formats; do [ -s "$D/$f.vmcore" ] || ok=0; done
	if [ $ok = 1 ] && [ "$(cat "$D/INPUTS" 2>/dev/null)" = "$h" ] && [ -s "$D/truth/markers.txt" ]; then
		return
	fi
	local R=$K/run-$name
	rm -rf "$R"
	mkdir -p "$R" "$D"
	log "booting the $name guest (TCG; -m $mem -smp $smp)"
	local KVMGEN_LIVE_DISK=
	QEMU_MEM=$mem BOOT_APPEND="console=ttyS0 quiet $append" BOOT_SMP=$smp boot "$R" "$K/guest/initrd.gz"
	if [ "$panic" = 1 ]; then
		local t0=$SECONDS
		until grep -q "Kernel panic - not syncing" "$R/serial.log"; do
			kill -0 "$QPID" 2>/dev/null || die "QEMU exited before the panic (see $R/serial.log)"
			if [ $((SECONDS - t0)) -gt 120 ]; then
				kill "$QPID" || true
				tail -50 "$R/serial.log" >&2 || true
				die "no kernel panic 120 s after KVMGEN-READY (serial log above)"
			fi
			sleep 0.5
		done
		# Let the panic finish its messages (the end marker), then stop.
		sleep 2
	fi
	monitor "$R" stop
	local t timings="boot_to_ready_s=$BOOT_SECONDS" flag
	for f in $formats; do
		case $f in elf) flag= ;; paging) flag=-p ;; kdump-zlib) flag=-z ;; *) die "unknown dump format $f" ;; esac
		t=$(now); monitor "$R" "dump-guest-memory $flag $R/$f.vmcore"
		timings="$timings dump_${f//-/_}_s=$(since "$t")"
		[ -s "$R/$f.vmcore" ] || die "QEMU wrote no $f.vmcore (see $R/monitor.log)"
	done
	monitor "$R" quit || true
	wait "$QPID" || true
	truth "$R" "$R/truth"
	rm -rf "$D/truth"
	for f in $formats; do
		chmod 0444 "$R/$f.vmcore"
		mv -f "$R/$f.vmcore" "$D/$f.vmcore"
	done
	mv "$R/truth" "$D/truth"
	# The guest's swap device as it was at the dump: the swapfile of
	# kvm.Options.SwapFile (sparse, 128 MiB).
	chmod 0444 "$R/swap.img"
	mv -f "$R/swap.img" "$D/swap.img"
	echo "$timings" | tr ' ' '\n' > "$D/TIMINGS"
	echo "$h" > "$D/INPUTS"
	log "$name dumps ready: $timings"
	rm -rf "$R"
}
do_panic() { do_variant panic "panic=0 kvmgen_panic" 2 "$QEMU_MEM" "elf kdump-zlib" 1; }
do_smp() { do_variant smp "panic=-1 kvmgen_smp" 2 "$QEMU_MEM" "elf" 0; }
do_many() { do_variant many "panic=-1 kvmgen_tasks=${KVMGEN_MANY_TASKS:-10000}" 1 1536 "elf" 0; }

# ---------------------------------------------------------------- live
do_live() {
	local out=${1:?usage: fixtures.sh live OUTDIR [LSPROC]} lsproc=${2:-}
	do_kernel >/dev/null
	do_guest
	mkdir -p "$out"
	out=$(cd "$out" && pwd)
	local R
	R=$(mktemp -d "${TMPDIR:-/tmp}/kvmgen-live.XXXXXX")
	local S=$R/overlay
	mkdir -p "$S/bin" "$S/etc"
	if [ -z "$lsproc" ]; then
		log "building a static lsproc"
		(cd "$REPO" && CGO_ENABLED=0 go build -o "$S/bin/lsproc" ./examples/lsproc)
	else
		cp "$lsproc" "$S/bin/lsproc"
	fi
	touch "$S/etc/kvmgen-live"
	# Extra static programs for the guest's /bin, and commands to run there.
	local b
	for b in ${KVMGEN_LIVE_BINS:-}; do cp "$b" "$S/bin/"; done
	[ -n "${KVMGEN_LIVE_CMDS:-}" ] && cp "$KVMGEN_LIVE_CMDS" "$S/etc/kvmgen-live-cmds"
	# The kernel unpacks concatenated archives in turn: the overlay adds
	# /bin/lsproc and the live flag to the base initramfs.
	cpio_gz "$S" "$R/overlay.gz"
	cat "$K/guest/initrd.gz" "$R/overlay.gz" > "$R/initrd.gz"
	boot "$R" "$R/initrd.gz"
	monitor "$R" quit || true
	wait "$QPID" || true
	truth "$R" "$out"
	echo "boot_to_ready_s=$BOOT_SECONDS" > "$out/TIMINGS"
	rm -rf "$R"
	log "live truth in $out (lsproc exit status $(cat "$out/lsproc.rc" 2>/dev/null || echo '?'))"
}

mode=${1:-all}
case $mode in
kernel) do_kernel ;;
guest) do_kernel; do_guest ;;
dumps) do_kernel; do_guest; do_dumps; [ -n "${KVMGEN_NO_PANIC:-}" ] || { do_panic; do_smp; } ;;
panic) do_kernel; do_guest; do_panic ;;
smp) do_kernel; do_guest; do_smp ;;
many) do_kernel; do_guest; do_many ;;
all)
	do_kernel; do_guest; do_dumps; do_panic; do_smp
	KVMGEN_KVER=$PREV_KVER KVMGEN_KDIR=linux-amd64-prev KVMGEN_NO_FALLBACK=1 KVMGEN_NO_PANIC=1 bash "${BASH_SOURCE[0]}" dumps
	;;
current)
	# The build bookworm's linux-image-cloud-amd64-dbg depends on today (the
	# archive moves on; 6.1.0-57 when written), with its own dumps and truth,
	# in linux-amd64-current/: the tests also run on whatever is current.
	KVMGEN_KVER=none KVMGEN_KDIR=linux-amd64-current KVMGEN_NO_PANIC=1 bash "${BASH_SOURCE[0]}" dumps ;;
trixie)
	# Debian trixie's current 6.12 cloud kernel (the archive moves on: the
	# metapackage's dependency today, recorded in VERSION; KVMGEN_TRIXIE_KVER
	# pins one) with its own dumps and truth, in linux-amd64-6.12/.
	KVMGEN_SUITE=trixie KVMGEN_KVER=${KVMGEN_TRIXIE_KVER:-none} KVMGEN_KDIR=linux-amd64-6.12 KVMGEN_NO_PANIC=1 \
		bash "${BASH_SOURCE[0]}" dumps ;;
prev) KVMGEN_KVER=$PREV_KVER KVMGEN_KDIR=linux-amd64-prev KVMGEN_NO_FALLBACK=1 KVMGEN_NO_PANIC=1 bash "${BASH_SOURCE[0]}" dumps ;;
live) shift; do_live "$@" ;;
*) die "unknown mode $mode (all, kernel, guest, dumps, panic, smp, many, prev, current, trixie, live OUTDIR [LSPROC])" ;;
esac
