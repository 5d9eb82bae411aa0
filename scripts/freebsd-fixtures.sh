#!/usr/bin/env bash
# Puts the real FreeBSD crash dumps kvmgen tests with into $KVMGEN_CACHE/freebsd/:
# the four dumps (decompressed) and the three kernels (ELF built by yaml2obj).
#
# They are the LLVM project's lldb test data (Apache-2.0 WITH LLVM-exception),
# lldb/test/API/functionalities/postmortem/FreeBSDKernel/. They are taken from
# ../shared/fixtures/freebsd-lldb/ beside the checkout when present, else from
# Debian bookworm's source package llvm-toolchain-16 (16.0.6), fetched with a
# private apt configuration (the machine's own apt state is not touched).
# Every file is checked against the SHA-256 below. Needs: bzip2, yaml2obj (llvm).
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${KVMGEN_CACHE:-$HOME/.cache/kvmgen}/freebsd"
mkdir -p "$cache"

files=(kernel-amd64.yaml kernel-arm64.yaml kernel-i386.yaml
  vmcore-amd64-full.bz2 vmcore-amd64-minidump.bz2 vmcore-arm64-minidump.bz2 vmcore-i386-minidump.bz2)
sums='581f6060f25111684c8f661bb5562c6d6ebbd5cf44a3931307c7a0bc7fb62a2b  kernel-amd64.yaml
4d427ad427b88e67cd404dd25bf9f23fdac84fbe7e81a01853818af24ee769fa  kernel-arm64.yaml
31ca0d93ac2c75689c9ae3910079a2d69cb0b77e7da3311bcb96ddbdde3ac3f3  kernel-i386.yaml
a7b1d98f9077e6a22c41bc439f6c507c2a9a7454f3a6deb7954a3ef6ed15be7c  vmcore-amd64-full.bz2
a685f935836ad749636e13b9357e663cf23248ab748767c791ad8e498776575c  vmcore-amd64-minidump.bz2
17c314dd01cee766c61c193ae130d90c97e226df6ee0e2ee9b8435e79b77b7d4  vmcore-arm64-minidump.bz2
87b81100a3ee1560ba9b0c1b87b435222ee60a1dc5daa35a0e62195d7164fa5b  vmcore-i386-minidump.bz2'

done_all=1
for a in amd64 arm64 i386; do [ -s "$cache/kernel-$a.elf" ] || done_all=0; done
for d in vmcore-amd64-full vmcore-amd64-minidump vmcore-arm64-minidump vmcore-i386-minidump; do
  [ -s "$cache/$d" ] || done_all=0
done
if [ "$done_all" = 1 ]; then
  echo "freebsd-fixtures: $cache is complete" >&2
  exit 0
fi

src=""
if [ -d ../shared/fixtures/freebsd-lldb ]; then
  src=../shared/fixtures/freebsd-lldb
else
  # Fetch llvm-toolchain-16's source tarball through a private apt setup.
  work="$cache/src"
  mkdir -p "$work/lists/partial" "$work/archives/partial"
  if ! ls "$work"/llvm-toolchain-16_16.0.6.orig.tar.xz >/dev/null 2>&1; then
    echo "deb-src http://deb.debian.org/debian bookworm main" >"$work/sources.list"
    aptopts=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o "Dir::State::Lists=$work/lists" -o "Dir::Cache::Archives=$work/archives"
      -o Debug::NoLocking=1)
    apt-get "${aptopts[@]}" update -qq
    (cd "$work" && apt-get "${aptopts[@]}" source --download-only llvm-toolchain-16=1:16.0.6-15~deb12u1 ||
      apt-get "${aptopts[@]}" source --download-only llvm-toolchain-16)
  fi
  tarball=$(ls "$work"/llvm-toolchain-16_*.orig.tar.xz | head -1)
  echo "freebsd-fixtures: extracting from $tarball" >&2
  tar -xJf "$tarball" -C "$work" --wildcards '*/lldb/test/API/functionalities/postmortem/FreeBSDKernel/*'
  src=$(dirname "$(find "$work" -path '*/postmortem/FreeBSDKernel/kernel-amd64.yaml' | head -1)")
fi

(cd "$src" && echo "$sums" | sha256sum --quiet -c -) || {
  echo "freebsd-fixtures: checksum mismatch in $src" >&2
  exit 1
}
for f in "${files[@]}"; do
  case "$f" in
  *.bz2)
    out="$cache/${f%.bz2}"
    [ -s "$out" ] || { bzip2 -dc "$src/$f" >"$out.tmp" && mv "$out.tmp" "$out"; }
    ;;
  kernel-*.yaml)
    out="$cache/${f%.yaml}.elf"
    [ -s "$out" ] || { yaml2obj --max-size=40000000 "$src/$f" -o "$out.tmp" && mv "$out.tmp" "$out"; }
    ;;
  esac
done
echo "freebsd-fixtures: $cache ready" >&2
