package freebsd

import "sync"

// tlbSize is the number of cached translations (direct-mapped by page).
const tlbSize = 1024

// tlb caches virtual-to-physical translations of 4 KiB-aligned pages whose
// translation needs page-table reads from the file. Safe for concurrent use.
type tlb struct {
	mu  sync.Mutex
	off bool
	ent [tlbSize]struct {
		vpage, ppage uint64
		valid        bool
	}
}

func (t *tlb) get(va uint64) (uint64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := &t.ent[(va>>12)%tlbSize]
	if t.off || !e.valid || e.vpage != va>>12 {
		return 0, false
	}
	return e.ppage<<12 | va&0xfff, true
}

func (t *tlb) put(va, pa uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.off {
		return
	}
	e := &t.ent[(va>>12)%tlbSize]
	e.vpage, e.ppage, e.valid = va>>12, pa>>12, true
}

// SetCache turns the translation cache on or off (it is on by default).
func (t *tlb) SetCache(on bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.off = !on
	for i := range t.ent {
		t.ent[i].valid = false
	}
}
