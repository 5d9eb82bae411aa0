#!/usr/bin/env bash
# Installs what building, testing and the fixtures need on a fresh Debian
# bookworm machine (root). Idempotent: packages already present are skipped.
set -euo pipefail
pkgs=(
  make gcc gdb gdb-multiarch binutils bzip2 xz-utils zstd cpio file
  clang-14           # a second compiler whose DWARF dwarfmodel is tested on
  dwarves            # pahole: the layout oracle
  llvm               # yaml2obj, llvm-dwarfdump
  qemu-system-x86 qemu-user gzip
  gcc-i686-linux-gnu gcc-aarch64-linux-gnu gcc-s390x-linux-gnu
  binutils-i686-linux-gnu binutils-aarch64-linux-gnu binutils-s390x-linux-gnu # their strip, objcopy
  libc6-dev-i386-cross libc6-dev-arm64-cross libc6-dev-s390x-cross # their headers (only recommended by the compilers)
  busybox-static
  python3-drgn crash # peers for the benchmarks and oracles
  time               # /usr/bin/time: the benchmark scripts' CPU and peak RSS
  qemu-system-arm socat python3-lzo bsdextrautils # runtime: arm64 fixture, LZO kdump test, hexdump oracle
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  for try in 1 2 3 4; do apt-get update -qq && break; [ $try = 4 ] && exit 1; sleep 15; done
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
