package testfix

import (
	"bytes"
	"strings"
	"testing"
)

// TestSparseMem: a write and a read cross a page boundary; a read running
// into a missing page gives the bytes before it and an error naming the
// first missing address; symbols and the build ID are what was set.
func TestSparseMem(t *testing.T) {
	m := NewSparseMem()
	m.Write(0x1ffc, []byte("abcdefgh")) // pages 0x1000 and 0x2000
	if len(m.Pages) != 2 || m.Pages[0x1000] == nil || m.Pages[0x2000] == nil {
		t.Fatalf("pages after a write across 0x2000: %d", len(m.Pages))
	}
	buf := make([]byte, 10)
	if n, err := m.ReadMemory(buf, 0x1ffb); n != 10 || err != nil || !bytes.Equal(buf, []byte("\x00abcdefgh\x00")) {
		t.Errorf("read across the pages: %d %q, %v", n, buf, err)
	}
	if n, err := m.ReadMemory(buf, 0x2ffa); n != 6 || err == nil || err.Error() != "address 0x3000 not in the fake dump" {
		t.Errorf("read into a missing page: %d, %v; want 6 bytes and an error at 0x3000", n, err)
	}
	if n, err := m.ReadMemory(buf[:1], 0x5000); n != 0 || err == nil || !strings.Contains(err.Error(), "0x5000") {
		t.Errorf("read of a missing page: %d, %v", n, err)
	}
	if n, err := m.ReadMemory(nil, 0x5000); n != 0 || err != nil {
		t.Errorf("empty read: %d, %v", n, err)
	}

	m.Syms["init_task"] = 0xffffffff82a0c940
	if a, err := m.LookupSymbol("init_task"); a != 0xffffffff82a0c940 || err != nil {
		t.Errorf("LookupSymbol(init_task) = %#x, %v", a, err)
	}
	if a, err := m.LookupSymbol("allproc"); err == nil || !strings.Contains(err.Error(), "allproc") {
		t.Errorf("LookupSymbol(allproc) = %#x, %v; want an error naming it", a, err)
	}
	if id := m.BuildID(); id != "" {
		t.Errorf("BuildID = %q before ID is set", id)
	}
	m.ID = "0123456789abcdef"
	if id := m.BuildID(); id != m.ID {
		t.Errorf("BuildID = %q, want %q", id, m.ID)
	}

	var z SparseMem // the zero value takes writes too
	z.Write(0x10, []byte{1})
	if n, err := z.ReadMemory(buf[:1], 0x10); n != 1 || err != nil || buf[0] != 1 {
		t.Errorf("zero SparseMem: %d %v, %v", n, buf[:1], err)
	}
}
