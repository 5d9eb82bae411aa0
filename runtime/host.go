package kvm

import (
	"debug/elf"
	"runtime"
)

// archOf maps an ELF machine to the architecture names of
// dwarfmodel.DataModel.Arch.
func archOf(m elf.Machine, c elf.Class) string {
	switch m {
	case elf.EM_X86_64:
		return "x86_64"
	case elf.EM_386:
		return "i386"
	case elf.EM_AARCH64:
		return "aarch64"
	case elf.EM_ARM:
		return "arm"
	case elf.EM_S390:
		if c == elf.ELFCLASS32 {
			return "s390"
		}
		return "s390x"
	case elf.EM_PPC64:
		return "ppc64"
	case elf.EM_PPC:
		return "ppc"
	case elf.EM_RISCV:
		if c == elf.ELFCLASS32 {
			return "riscv32"
		}
		return "riscv64"
	case elf.EM_MIPS:
		return "mips"
	}
	return m.String()
}

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
