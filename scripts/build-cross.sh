#!/usr/bin/env bash
# build-cross.sh [OUTDIR]: builds the truth program (testdata/c/truth.c and
# decl.c) for every variant of the layout/value truth suite and runs it to
# get a core, into OUTDIR/cross/<arch>-dwarf<N>/ (prog, prog.o, prog.out,
# prog.core, BUILD).
#
# Variants: x86_64, i386, aarch64, s390x, each with -gdwarf-4 and -gdwarf-5,
# plus a layout-only -gdwarf-2 -gstrict-dwarf build of each (prog and prog.o,
# not run). OUTDIR defaults to $KVMGEN_CACHE, else ~/.cache/kvmgen.
#
# The build is the tests' own C pipeline (internal/testfix: the same
# compiler flags, prefix map and core runner the tests use), run by
# internal/testfix/truthfixtures; see its doc for the details: native or
# qemu-user runs, KVMGEN_CROSS_NATIVE=0 (always qemu), KVMGEN_CROSS_OPTIONAL=1
# (skip a variant whose cross compiler or qemu is missing). Idempotent: a
# variant whose BUILD records the current sources, compiler and flags is kept.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:-${KVMGEN_CACHE:-$HOME/.cache/kvmgen}}
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$here/.."
exec "${GO:-go}" run ./internal/testfix/truthfixtures "$out"
