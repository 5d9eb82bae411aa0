package kvm

// The libkvm-compatible calls, kept for users of kvm(3) and for porting C
// tools: each is a thin layer over the Go-native API of kvm.go.
//
//	libkvm                         Go-native
//	kvm_open, kvm_openfiles,       OpenOptions(execfile, corefile, Options)
//	  kvm_open2
//	kvm_read, kvm_read2            (*KVM).ReadMemory(buf, addr)
//	kvm_nlist, kvm_nlist2          (*KVM).LookupSymbol(name)
//	kvm_geterr                     the error values every call returns
//	                               ((*KVM).Err for the last one)

import (
	"encoding/binary"
	"fmt"
)

// Open is kvm_open: errors are returned and, when errstr is not empty, also
// printed to Stderr as "errstr: message". swapfile, when not "", is the
// image of the target's swap area, as Solaris' kvm_open has it
// (Options.SwapFile).
//
// As Sun's kvm_open does, a descriptor opened with an errstr also prints
// every later error of its calls (reads, lookups) the same way; Geterr
// and the returned errors are there either way.
func Open(execfile, corefile, swapfile string, flags int, errstr string) (*KVM, error) {
	kd, err := OpenOptions(execfile, corefile, Options{Flags: flags, SwapFile: swapfile})
	if err != nil && errstr != "" {
		fmt.Fprintf(Stderr, "%s: %v\n", errstr, err)
	}
	if err == nil {
		kd.errstr = errstr
	}
	return kd, err
}

// OpenFiles is kvm_openfiles; swapfile is as in Open.
func OpenFiles(execfile, corefile, swapfile string, flags int) (*KVM, error) {
	return OpenOptions(execfile, corefile, Options{Flags: flags, SwapFile: swapfile})
}

// Open2 is kvm_open2: resolver, when not nil, looks symbols up instead of
// the execfile's symbol table. A kernel of another architecture than the
// host's needs a resolver unless the execfile has a symbol table.
func Open2(execfile, corefile string, flags int, resolver Resolver) (*KVM, error) {
	return OpenOptions(execfile, corefile, Options{Flags: flags, Resolver: resolver})
}

// Geterr returns the message of the descriptor's last error, "" if none
// (kvm_geterr).
func (kd *KVM) Geterr() string {
	kd.mu.Lock()
	defer kd.mu.Unlock()
	return kd.errmsg
}

// Nlist is one entry of a symbol list (struct kvm_nlist).
type Nlist struct {
	Name  string
	Type  uint8 // NTypeUndef when not found, else NTypeAbs... as nlist
	Value KVAddr
}

// Nlist types.
const (
	NTypeUndef uint8 = 0x0 // N_UNDF
	NTypeAbs   uint8 = 0x2 // N_ABS
	NTypeText  uint8 = 0x4 // N_TEXT
	NTypeData  uint8 = 0x6 // N_DATA
)

// Nlist2 looks each entry's name up, filling Value (run-time address) and
// Type; entries not found get Type NTypeUndef and Value 0. It returns the
// number not found (kvm_nlist2).
func (kd *KVM) Nlist2(nl []Nlist) (int, error) {
	if kd.isClosed() {
		return len(nl), kd.seterr(errClosed)
	}
	missing := 0
	for i := range nl {
		v, err := kd.LookupSymbol(nl[i].Name)
		if err != nil {
			nl[i].Type, nl[i].Value = NTypeUndef, 0
			missing++
			continue
		}
		nl[i].Type, nl[i].Value = NTypeAbs, v
	}
	return missing, nil
}

// Read2 is kvm_read2: ReadMemory with libkvm's argument order.
func (kd *KVM) Read2(addr KVAddr, buf []byte) (int, error) { return kd.ReadMemory(buf, addr) }

// The kvm_getpcpu family, for Linux kernels: possible CPUs, online CPUs,
// per-CPU reads. (FreeBSD's kvm_dpcpu_setcpu, which redirects later
// kvm_nlist lookups of DPCPU symbols to one CPU, has no counterpart:
// PerCPUAddr names a CPU's copy directly.)

// GetMaxCPU is kvm_getmaxcpu: how many CPUs the kernel can have
// (nr_cpu_ids, the possible CPUs; per-CPU data exists for each).
func (kd *KVM) GetMaxCPU() (int, error) {
	n, err := NumCPUs(kd)
	return n, kd.seterr(err)
}

// GetNCPUs is kvm_getncpus: how many CPUs were online (the kernel's
// __num_online_cpus; nr_cpu_ids on kernels without it).
func (kd *KVM) GetNCPUs() (int, error) {
	a, err := kd.LookupSymbol("__num_online_cpus")
	if err != nil {
		return kd.GetMaxCPU()
	}
	b := make([]byte, 4) // atomic_t
	if err := ReadFull(kd, b, a); err != nil {
		return 0, kd.seterr(err)
	}
	n := int(binary.LittleEndian.Uint32(b))
	if kd.Info().BigEndian {
		n = int(binary.BigEndian.Uint32(b))
	}
	if most, err := kd.GetMaxCPU(); err == nil && (n <= 0 || n > most) {
		return 0, kd.seterr(fmt.Errorf("__num_online_cpus is %d, not a count of up to nr_cpu_ids (%d) CPUs", n, most))
	}
	return n, nil
}

// ReadZPCPU is kvm_read_zpcpu: it reads len(buf) bytes of CPU cpu's copy
// of the per-CPU object at base (a __percpu pointer's value).
func (kd *KVM) ReadZPCPU(buf []byte, base uint64, cpu int) (int, error) {
	a, err := PerCPU(kd, base, cpu)
	if err != nil {
		return 0, kd.seterr(err)
	}
	return kd.ReadMemory(buf, a)
}

// CounterU64Fetch is kvm_counter_u64_fetch: the sum over every possible
// CPU of the per-CPU u64 at base (a __percpu pointer's value, as
// percpu_counter and the kernel's counter(9)-like sums keep them).
func (kd *KVM) CounterU64Fetch(base uint64) (uint64, error) {
	n, err := kd.GetMaxCPU()
	if err != nil {
		return 0, err
	}
	var sum uint64
	b := make([]byte, 8)
	for cpu := 0; cpu < n; cpu++ {
		if _, err := kd.ReadZPCPU(b, base, cpu); err != nil {
			return 0, err
		}
		if kd.Info().BigEndian {
			sum += binary.BigEndian.Uint64(b)
		} else {
			sum += binary.LittleEndian.Uint64(b)
		}
	}
	return sum, nil
}
