#!/usr/bin/env bash
# scripts/trixie-kernel.sh: Debian trixie's cloud amd64 kernel image with
# DWARF and BTF (the 6.12 series), for the BTF-versus-DWARF layout test
# (btfmodel). Only the vmlinux is kept:
#   $KVMGEN_CACHE/linux-amd64-6.12/{vmlinux,VERSION}
# The package is fetched with a private apt configuration (trixie's index,
# from the same mirror as the machine's own bookworm sources), so the
# machine's apt state is untouched. The archive moves on: the metapackage's
# current version is taken and recorded in VERSION; KVMGEN_TRIXIE_KVER pins one.
set -euo pipefail
CACHE=${KVMGEN_CACHE:-$HOME/.cache/kvmgen}
OUT=$CACHE/linux-amd64-6.12
W=$CACHE/trixie-work
[ -s "$OUT/vmlinux" ] && [ -s "$OUT/VERSION" ] && exit 0
mkdir -p "$W/lists/partial" "$W/archives/partial" "$OUT"
# The mirror the machine already uses for Debian (deb822 or one-line format).
MIRROR=$(sed -n 's/^URIs: *\([^ ]*\/debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
[ -n "$MIRROR" ] || MIRROR=$(sed -n 's/^deb \+\(http[^ ]*\/debian\) .*/\1/p' /etc/apt/sources.list 2>/dev/null | head -1)
[ -n "$MIRROR" ] || { echo "trixie-kernel: no Debian mirror found in the apt sources" >&2; exit 1; }
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR trixie main" > "$W/sources.list"
APT=(-o APT::Architecture=amd64 -o APT::Architectures=amd64 -o "Dir::Etc::SourceList=$W/sources.list"
	-o Dir::Etc::SourceParts=/nonexistent -o "Dir::State::Lists=$W/lists" -o "Dir::Cache::Archives=$W/archives")
for try in 1 2 3; do apt-get "${APT[@]}" update >/dev/null && break; sleep 15; done
KVER=${KVMGEN_TRIXIE_KVER:-}
if [ -z "$KVER" ]; then
	KVER=$(apt-cache "${APT[@]}" depends linux-image-cloud-amd64-dbg | sed -n 's/.*Depends: linux-image-\(.*\)-dbg$/\1/p' | head -1)
	[ -n "$KVER" ] || { echo "trixie-kernel: cannot resolve linux-image-cloud-amd64-dbg" >&2; exit 1; }
fi
cd "$W"
rm -f linux-image-*-dbg_*.deb
apt-get "${APT[@]}" download "linux-image-$KVER-dbg" >/dev/null
rm -rf x && mkdir x
dpkg-deb --fsys-tarfile linux-image-"$KVER"-dbg_*.deb | tar -x -C x --wildcards "*boot/vmlinux-$KVER"
mv -f "x/usr/lib/debug/boot/vmlinux-$KVER" "$OUT/vmlinux"
rm -rf x linux-image-*-dbg_*.deb
echo "$KVER $(sha256sum "$OUT/vmlinux" | cut -d' ' -f1)" > "$OUT/VERSION"
echo "trixie-kernel: $KVER ready in $OUT" >&2
