package kvm

import (
	"debug/elf"
	"encoding/binary"
	"runtime"

	"github.com/kvmgen/kvmgen/dwarfmodel"
)

// archOf names an architecture as every package does:
// dwarfmodel.ArchName, the one table of names.
func archOf(m elf.Machine, c elf.Class, bo binary.ByteOrder) string {
	return dwarfmodel.ArchName(m, c, bo)
}

// archOfUname names the architecture of a utsname machine string (what
// kdump headers record) as dwarfmodel.ArchName does.
func archOfUname(machine string) string {
	switch machine {
	case "i386", "i486", "i586", "i686":
		return "i386"
	case "arm64":
		return "aarch64"
	case "armv7l", "armv6l":
		return "arm"
	case "ppc":
		return "powerpc"
	}
	return machine
}

// HostArch names the architecture this program runs on, as
// dwarfmodel.ArchName does.
func HostArch() string { return archOf(hostMachine(), hostClass(), binary.NativeEndian) }

// hostMachine is the ELF machine of the running program's architecture.
func hostMachine() elf.Machine {
	switch runtime.GOARCH {
	case "amd64":
		return elf.EM_X86_64
	case "386":
		return elf.EM_386
	case "arm64":
		return elf.EM_AARCH64
	case "arm":
		return elf.EM_ARM
	case "s390x":
		return elf.EM_S390
	case "ppc64", "ppc64le":
		return elf.EM_PPC64
	case "riscv64":
		return elf.EM_RISCV
	case "mips", "mipsle", "mips64", "mips64le":
		return elf.EM_MIPS
	}
	return elf.EM_NONE
}

func hostClass() elf.Class {
	if ptrSize == 8 {
		return elf.ELFCLASS64
	}
	return elf.ELFCLASS32
}

const ptrSize = 4 << (^uintptr(0) >> 63)
