#!/usr/bin/env bash
# build-cross.sh [OUTDIR]: builds the truth program (testdata/c/truth.c) for
# every variant of the layout/value truth suite and runs it to get a core.
#
# Variants: x86_64, i386, aarch64, s390x, each with -gdwarf-4 and -gdwarf-5,
# plus a layout-only -gdwarf-2 -gstrict-dwarf build of each (member offsets
# as location expressions, DW_AT_bit_offset bitfields): prog and prog.o only.
# For each, OUTDIR/cross/<arch>-dwarf<N>/ receives:
#   prog       static executable  ($CC -static -O0 -g -gdwarf-N)
#   prog.o     the object file     ($CC -O0 -g -gdwarf-N -c)
#   prog.out   the program's stdout (every value it stored, key=value)
#   prog.core  the ELF core written when it calls abort()
#   BUILD      the exact commands and tool versions used
# OUTDIR defaults to $KVMGEN_CACHE, else ~/.cache/kvmgen.
#
# x86_64 runs natively when the kernel writes plain core files
# (/proc/sys/kernel/core_pattern not a pipe), else under qemu-x86_64 like the
# others (qemu-i386, qemu-aarch64, qemu-s390x), which write their own
# qemu_prog_<date>_<pid>.core (the shell then reports "Aborted (core dumped)":
# that is expected). Idempotent: a variant is skipped when its
# outputs are newer than truth.c and this script. A missing cross compiler or
# qemu fails the script unless KVMGEN_CROSS_OPTIONAL=1 (then it is skipped).
# KVMGEN_CROSS_NATIVE=0 runs x86_64 under qemu-x86_64 too; a native run that
# leaves no core file (core_pattern naming it otherwise) falls back to it.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src="$here/../testdata/c/truth.c"
srcdir=$(cd "$(dirname "$src")" && pwd)
src=$srcdir/truth.c
out=${1:-${KVMGEN_CACHE:-$HOME/.cache/kvmgen}}
mkdir -p "$out/cross"
out=$(cd "$out" && pwd)

# arch:compiler:qemu
variants=(
  "x86_64:gcc:qemu-x86_64"
  "i386:i686-linux-gnu-gcc:qemu-i386"
  "aarch64:aarch64-linux-gnu-gcc:qemu-aarch64"
  "s390x:s390x-linux-gnu-gcc:qemu-s390x"
)

native_core=0
if [ "$(uname -m)" = x86_64 ] && [ "${KVMGEN_CROSS_NATIVE:-1}" = 1 ]; then
  pat=$(cat /proc/sys/kernel/core_pattern 2>/dev/null || echo '|')
  case "$pat" in
    '|'*|*/*) native_core=0 ;;   # piped to a handler, or written elsewhere
    *) native_core=1 ;;
  esac
fi

fresh() { # fresh DIR DWARF: outputs exist and are newer than the sources
  local d=$1 dw=$2 f files=(prog prog.o prog.out prog.core BUILD)
  if [ "$dw" = 2 ]; then files=(prog prog.o BUILD); fi
  for f in "${files[@]}"; do
    [ -s "$d/$f" ] || return 1
    [ "$d/$f" -nt "$src" ] || return 1
    [ "$d/$f" -nt "${BASH_SOURCE[0]}" ] || return 1
  done
}

missing_tool() {
  if [ "${KVMGEN_CROSS_OPTIONAL:-0}" = 1 ]; then
    echo "build-cross: $1 not found: skipping $2" >&2
    return 0
  fi
  echo "build-cross: $1 not found (run scripts/install-deps.sh)" >&2
  exit 1
}

# run_prog DIR NATIVE QEMU NAME: runs DIR/prog (natively when NATIVE is 1,
# else under QEMU) with cores enabled; leaves prog.out and prog.core in DIR.
# Fails when the program does not abort or no core file appears.
run_prog() (
  local dir=$1 native=$2 qemu=$3 name=$4 rc c
  cd "$dir"
  rm -f core core.* qemu_prog_*.core prog.core
  if ! ulimit -c unlimited 2>/dev/null; then
    echo "build-cross: $name: cannot raise the core size limit (hard limit: $(ulimit -H -c)); cores are needed" >&2
    return 1
  fi
  set +e
  if [ "$native" = 1 ]; then
    ./prog >prog.out 2>prog.err
  else
    "$qemu" ./prog >prog.out 2>prog.err
  fi
  rc=$?
  set -e
  # abort(): 134 = 128+SIGABRT
  if [ "$rc" -ne 134 ]; then
    echo "build-cross: $name: prog exited $rc, want SIGABRT (134)" >&2
    cat prog.err >&2
    return 1
  fi
  if [ "$native" = 1 ]; then
    c=$(ls core core.* 2>/dev/null | head -n1 || true)
  else
    c=$(ls qemu_prog_*.core 2>/dev/null | head -n1 || true)
    rm -f core core.* # qemu itself also dumps core on the abort it re-raises
  fi
  if [ -z "$c" ]; then
    echo "build-cross: $name: no core file written (core_pattern: $(cat /proc/sys/kernel/core_pattern 2>/dev/null))" >&2
    return 1
  fi
  mv "$c" prog.core
  rm -f prog.err
)

for v in "${variants[@]}"; do
  IFS=: read -r arch cc qemu <<<"$v"
  for dw in 4 5 2; do
    d="$out/cross/$arch-dwarf$dw"
    if fresh "$d" "$dw"; then
      echo "build-cross: $arch-dwarf$dw up to date"
      continue
    fi
    command -v "$cc" >/dev/null || { missing_tool "$cc" "$arch-dwarf$dw"; continue; }
    run_native=0
    if [ "$arch" = x86_64 ] && [ "$native_core" = 1 ]; then run_native=1; fi
    if [ "$run_native" = 0 ] && [ "$dw" != 2 ]; then
      command -v "$qemu" >/dev/null || { missing_tool "$qemu" "$arch-dwarf$dw"; continue; }
    fi
    echo "build-cross: building $arch-dwarf$dw"
    tmp=$(mktemp -d "$out/cross/.tmp-$arch-dwarf$dw.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    # Compiled from the source's directory under a fixed name, with its
    # path mapped to ".", so that the DWARF (DW_AT_name, DW_AT_comp_dir) and
    # hence the GNU build ID do not depend on where the checkout is: the
    # committed bindings (internal/truth) record that build ID.
    cflags=(-O0 -g "-gdwarf-$dw" -fno-omit-frame-pointer "-ffile-prefix-map=$srcdir=.")
    if [ "$dw" = 2 ]; then cflags+=(-gstrict-dwarf); fi
    (cd "$srcdir" && "$cc" -static "${cflags[@]}" -o "$tmp/prog" truth.c)
    (cd "$srcdir" && "$cc" "${cflags[@]}" -c -o "$tmp/prog.o" truth.c)
    if [ "$dw" = 2 ]; then
      : # layout only: not run
    elif ! run_prog "$tmp" "$run_native" "$qemu" "$arch-dwarf$dw"; then
      if [ "$run_native" = 1 ] && command -v "$qemu" >/dev/null; then
        echo "build-cross: $arch-dwarf$dw: no native core; running under $qemu instead" >&2
        run_native=0
        run_prog "$tmp" 0 "$qemu" "$arch-dwarf$dw"
      else
        exit 1
      fi
    fi
    {
      echo "source: testdata/c/truth.c (sha256 $(sha256sum "$src" | cut -d' ' -f1))"
      echo "compiler: $cc: $("$cc" --version | head -n1)"
      echo "exec: cd testdata/c && $cc -static ${cflags[*]/$srcdir/\$PWD} -o prog truth.c"
      echo "object: cd testdata/c && $cc ${cflags[*]/$srcdir/\$PWD} -c -o prog.o truth.c"
      if [ "$dw" = 2 ]; then
        echo "run: none (layout-only variant)"
      elif [ "$run_native" = 1 ]; then
        echo "run: ulimit -c unlimited; ./prog > prog.out (native core)"
      else
        echo "run: ulimit -c unlimited; $qemu ./prog > prog.out ($($qemu --version | head -n1))"
      fi
    } >"$tmp/BUILD"
    chmod 755 "$tmp"
    chmod 644 "$tmp"/prog.o "$tmp"/BUILD
    if [ "$dw" != 2 ]; then chmod 644 "$tmp"/prog.out "$tmp"/prog.core; fi
    rm -rf "$d"
    mv "$tmp" "$d"
    trap - EXIT
  done
done
echo "build-cross: done in $out/cross"
