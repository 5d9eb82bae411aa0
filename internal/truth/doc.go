// Package truth is kvmgen's layout-truth and value-truth suite (its tests are
// the point; the package itself holds only shared helpers).
//
// The program testdata/c/truth.c declares one of every C construct kvmgen
// must handle. scripts/build-cross.sh builds it for x86_64, i386, aarch64 and
// s390x, each with DWARF 4 and DWARF 5, runs it (natively or under qemu-user)
// and keeps its output and core in the fixture cache under
// cross/<arch>-dwarf<N>/.
//
//   - Layout truth (layout_test.go): for every member of every struct, the
//     offset, size, bit size and bit position kvmgen's DWARF model gives equal
//     what two independent oracles print: pahole -F dwarf and gdb's
//     `ptype /o`. Enum values and global variable addresses are checked
//     against gdb and the ELF symbol table.
//   - Value truth (package values): the bindings kvmgen generated for each
//     variant (committed in the sub-packages x86_64_dwarf5 and so on, with
//     walk.go, a copy of walk.go.tmpl) read back, through the runtime opened
//     on (prog, prog.core), every value the program printed before it
//     aborted, following its pointers.
//   - Generated constants (consts_test.go): Sizeof/Offsetof constants of the
//     committed bindings equal gdb's sizes and offsets.
//   - Golden (golden_test.go): regenerating the bindings from the freshly
//     built programs gives the committed bytes, so compiler or generator
//     drift is caught. `go test ./internal/truth -run 'Golden|WalkCopies'
//     -update` rewrites them (the value tests live in a separate package so
//     that this works even when the old bindings no longer compile).
package truth
