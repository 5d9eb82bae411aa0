package procs

import (
	"errors"
	"strings"
)

// KVMSwap is one entry of kvm_getswapinfo's array (FreeBSD's struct
// kvm_swap). Sizes are in pages of the target's page size, as libkvm's.
type KVMSwap struct {
	// DevName is ksw_devname: the area's path with its "/dev/" prefix
	// removed unless SWIFDevPrefix is given (libkvm's rule); "Total" for
	// the grand total.
	DevName string
	Total   uint64 // ksw_total: usable pages
	Used    uint64 // ksw_used: pages in use
	// Flags is ksw_flags: the area's swap_info_struct.flags (SWP_USED,
	// SWP_WRITEOK, ... of include/linux/swap.h); 0 for the total.
	Flags uint64
}

// The flags of SwapInfo (FreeBSD's SWIF_*).
const (
	SWIFDumpTree  = 0x1 // dump the allocator's tree: FreeBSD's blist; Linux has none (an error)
	SWIFDevPrefix = 0x2 // keep the "/dev/" prefix of device names
)

// ErrBadMaxSwap is returned by SwapInfo for maxswap < 1: there is no room
// for the grand total.
var ErrBadMaxSwap = errors.New("procs: kvm_getswapinfo: maxswap must be at least 1 (room for the total)")

// SwapInfo is kvm_getswapinfo(kd, swap_ary, maxswap, flags): an entry for
// each of the first maxswap-1 active swap areas (GetSwapInfo's order, as
// /proc/swaps), then one more, the grand total over every area, including
// those beyond maxswap-1. n is the number of area entries (the total not
// counted): with maxswap 1 it is 0 and the one entry is the total.
func (s *System) SwapInfo(maxswap, flags int) (entries []KVMSwap, n int, err error) {
	if maxswap < 1 {
		return nil, 0, ErrBadMaxSwap
	}
	if flags&SWIFDumpTree != 0 {
		return nil, 0, errors.New("procs: kvm_getswapinfo: SWIF_DUMP_TREE dumps FreeBSD's swap blist; a Linux kernel has none")
	}
	if flags&^(SWIFDumpTree|SWIFDevPrefix) != 0 {
		return nil, 0, errors.New("procs: kvm_getswapinfo: unknown flags")
	}
	areas, err := s.GetSwapInfo()
	if err != nil {
		return nil, 0, err
	}
	ps := s.pageSize
	if ps == 0 {
		return nil, 0, errors.New("procs: kvm_getswapinfo: the target's page size is unknown")
	}
	total := KVMSwap{DevName: "Total"}
	for _, a := range areas {
		e := KVMSwap{DevName: a.Name, Total: a.Size / ps, Used: a.Used / ps, Flags: a.Flags}
		if flags&SWIFDevPrefix == 0 {
			e.DevName = strings.TrimPrefix(e.DevName, "/dev/")
		}
		total.Total += e.Total
		total.Used += e.Used
		if n < maxswap-1 {
			entries = append(entries, e)
			n++
		}
	}
	return append(entries, total), n, nil
}
