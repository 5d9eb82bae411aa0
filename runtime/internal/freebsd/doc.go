// Package freebsd reads FreeBSD kernel crash dumps on any host: minidumps of
// amd64 (header versions 1 to 3), i386 (PAE and non-PAE, versions 1 and 2)
// and arm64 (versions 1 to 3, 4 KiB and 16 KiB pages), and full dumps (an
// ELF core whose PT_LOAD segments are physical memory) of amd64, translated
// by walking the kernel's own page tables from KPML4phys.
//
// It is the leaf under kvmgen's runtime (which adapts it to runtime.Dump in
// runtime/format_freebsd.go) and imports nothing of kvmgen, so it defines
// its own small types: Info, Page, Prot and the errors.
//
// The on-disk formats are those FreeBSD documents in
// sys/{amd64,i386,arm64}/include/minidump.h and writes in
// sys/*/*/minidump_machdep.c: page 0 holds the header, then come the message
// buffer, dump_avail (newer versions), the page bitmap, the kernel's page
// map, and the dumped pages, each part rounded up to a page. A physical
// page's bytes sit at pages_start + (number of bitmap bits set before the
// page's bit) × PAGE_SIZE; Minidump answers that in constant time from
// population counts cached every 1024 bits.
package freebsd
