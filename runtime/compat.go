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
	"fmt"
)

// Open is kvm_open: errors are returned and, when errstr is not empty, also
// printed to Stderr as "errstr: message". swapfile is ignored, as in
// libkvm.
func Open(execfile, corefile, swapfile string, flags int, errstr string) (*KVM, error) {
	kd, err := OpenOptions(execfile, corefile, Options{Flags: flags})
	if err != nil && errstr != "" {
		fmt.Fprintf(Stderr, "%s: %v\n", errstr, err)
	}
	return kd, err
}

// OpenFiles is kvm_openfiles. swapfile is ignored.
func OpenFiles(execfile, corefile, swapfile string, flags int) (*KVM, error) {
	return OpenOptions(execfile, corefile, Options{Flags: flags})
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

// Nlist is the classic kvm_nlist: names in, values out; it returns the
// values and how many names were not found.
func (kd *KVM) Nlist(names ...string) ([]KVAddr, int, error) {
	nl := make([]Nlist, len(names))
	for i, n := range names {
		nl[i].Name = n
	}
	missing, err := kd.Nlist2(nl)
	vals := make([]KVAddr, len(nl))
	for i := range nl {
		vals[i] = nl[i].Value
	}
	return vals, missing, err
}

// Read2 is kvm_read2: ReadMemory with libkvm's argument order.
func (kd *KVM) Read2(addr KVAddr, buf []byte) (int, error) { return kd.ReadMemory(buf, addr) }

// Read is kvm_read: ReadMemory with libkvm's argument order.
func (kd *KVM) Read(addr KVAddr, buf []byte) (int, error) { return kd.ReadMemory(buf, addr) }
