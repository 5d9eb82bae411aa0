package kvm

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
)

// TestErrstrLaterErrors: a descriptor opened with Open and an errstr
// prints its later errors too (Sun kvm_open); with "" it prints none.
func TestErrstrLaterErrors(t *testing.T) {
	core := testfix.Path(t, "linux-amd64/dumps/elf.vmcore")
	vml := testfix.Path(t, "linux-amd64/vmlinux")
	var buf bytes.Buffer
	old := Stderr
	Stderr = &buf
	defer func() { Stderr = old }()
	for _, errstr := range []string{"mytool", ""} {
		buf.Reset()
		kd, err := Open(vml, core, "", os.O_RDONLY, errstr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := kd.Read2(0x10, make([]byte, 8)); err == nil {
			t.Fatal("a read at 0x10 succeeded")
		}
		if _, err := kd.LookupSymbol("no_such_symbol_here"); err == nil {
			t.Fatal("a missing symbol was found")
		}
		kd.Close()
		got := buf.String()
		if errstr == "" {
			if got != "" {
				t.Errorf("errstr \"\": printed %q", got)
			}
			continue
		}
		lines := strings.Split(strings.TrimSpace(got), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "mytool: ") || !strings.Contains(lines[1], "no_such_symbol_here") {
			t.Errorf("errstr %q: printed %q, want the two errors after \"mytool: \"", errstr, got)
		}
	}
}

// TestPCPUFamily: GetMaxCPU, GetNCPUs, ReadZPCPU and CounterU64Fetch on
// the two-CPU panic dump and the one-CPU -p dump; the per-CPU addresses
// equal drgn's per_cpu_ptr on the -p dump (drgn reads only that one).
func TestPCPUFamily(t *testing.T) {
	vml := testfix.Path(t, "linux-amd64/vmlinux")
	for _, c := range []struct {
		core string
		cpus int
	}{{"linux-amd64/dumps/paging.vmcore", 1}, {"linux-amd64/dumps/panic/elf.vmcore", 2}} {
		kd, err := OpenOptions(vml, testfix.Path(t, c.core), Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer kd.Close()
		if n, err := kd.GetMaxCPU(); err != nil || n != c.cpus {
			t.Errorf("%s: GetMaxCPU = %d, %v; want %d (the guest's -smp)", c.core, n, err, c.cpus)
		}
		if n, err := kd.GetNCPUs(); err != nil || n < 1 || n > c.cpus {
			t.Errorf("%s: GetNCPUs = %d, %v", c.core, n, err)
		}
		// current_task of each CPU is a task: its comm is text.
		for cpu := 0; cpu < c.cpus; cpu++ {
			a, err := PerCPUAddr(kd, "current_task", cpu)
			if err != nil {
				t.Fatal(err)
			}
			b := make([]byte, 8)
			if _, err := kd.ReadMemory(b, a); err != nil {
				t.Fatalf("%s: current_task of CPU %d at %#x: %v", c.core, cpu, a, err)
			}
		}
		if _, err := kd.ReadZPCPU(make([]byte, 8), 0, c.cpus); err == nil {
			t.Errorf("%s: ReadZPCPU of CPU %d (out of range) succeeded", c.core, c.cpus)
		}
	}
	// drgn as the oracle: per_cpu_ptr of runqueues on CPU 0.
	core := testfix.Path(t, "linux-amd64/dumps/paging.vmcore")
	want := strings.Fields(string(testfix.Drgn(t, "percpu", vml, core)))
	kd, err := OpenOptions(vml, core, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer kd.Close()
	for i, name := range []string{"runqueues", "vm_event_states"} {
		a, err := PerCPUAddr(kd, name, 0)
		if err != nil {
			t.Fatal(err)
		}
		w, _ := strconv.ParseUint(strings.TrimPrefix(want[i], "0x"), 16, 64)
		if a != w {
			t.Errorf("%s on CPU 0: %#x, drgn %#x", name, a, w)
		}
	}
	// CounterU64Fetch over vm_event_states: its first counter (PGPGIN)
	// summed over the possible CPUs equals CPU 0's on a one-CPU guest.
	base, _ := kd.LookupSymbol("vm_event_states")
	if start, err := kd.LookupSymbol("__per_cpu_start"); err == nil && base >= start {
		base -= start
	}
	sum, err := kd.CounterU64Fetch(base)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 8)
	w, _ := strconv.ParseUint(strings.TrimPrefix(want[1], "0x"), 16, 64)
	if _, err := kd.ReadMemory(b, w); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(sum); got != fmt.Sprint(leU64(b)) {
		t.Errorf("CounterU64Fetch(vm_event_states) = %d, CPU 0's PGPGIN read at drgn's address %d", sum, leU64(b))
	}
}

func leU64(b []byte) uint64 {
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}
