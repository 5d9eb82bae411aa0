package printk_test

import (
	"bufio"
	"encoding/hex"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
	"github.com/kvmgen/kvmgen/printk"
	kvm "github.com/kvmgen/kvmgen/runtime"
)

func readDump(t *testing.T, core string) *printk.Log {
	t.Helper()
	kd, err := kvm.OpenOptions("", core, kvm.Options{Flags: os.O_RDONLY})
	if err != nil {
		t.Fatal(err)
	}
	defer kd.Close()
	i := kd.Info()
	lg, err := printk.Read(kd, kd.VMCoreInfo(), i.PtrSize, i.BigEndian, printk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if lg.Partial {
		t.Errorf("%s: partial log: %v", core, lg.Err())
	}
	return lg
}

func lines(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// matchTruth checks that the guest's own dmesg lines (truth) appear in the
// dump's log (got), consecutively and in order.
func matchTruth(t *testing.T, what string, got, truth []string) {
	t.Helper()
	if len(truth) < 50 {
		t.Fatalf("%s: the truth holds only %d lines", what, len(truth))
	}
	start := -1
	for i, l := range got {
		if l == truth[0] {
			start = i
			break
		}
	}
	if start < 0 {
		t.Fatalf("%s: the guest's first dmesg line %q is not in the dump's %d lines", what, truth[0], len(got))
	}
	for i, want := range truth {
		j := start + i
		if j >= len(got) {
			t.Fatalf("%s: the dump's log ends after %d of the guest's %d lines", what, i, len(truth))
		}
		if got[j] != want {
			t.Fatalf("%s: line %d: dump %q, guest %q", what, i, got[j], want)
		}
	}
}

func format(lg *printk.Log, o printk.FormatOptions) []string {
	var b strings.Builder
	for i := range lg.Records {
		b.WriteString(lg.Records[i].Format(o))
	}
	return strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
}

// TestGuestDmesg: every record the guest printed before the dumps (busybox
// dmesg -r and dmesg, in the truth) is in each dump's ring buffer, in the
// same order, with the same level, timestamp and text.
func TestGuestDmesg(t *testing.T) {
	for _, set := range []struct {
		dir   string
		dumps []string
	}{
		{"linux-amd64/dumps", []string{"elf", "paging", "kdump-zlib"}},
		{"linux-amd64/dumps/panic", []string{"elf", "kdump-zlib"}},
	} {
		truth := testfix.Path(t, set.dir+"/truth")
		raw := lines(t, truth+"/dmesg-raw.txt")
		plain := lines(t, truth+"/dmesg.txt")
		for _, d := range set.dumps {
			core := testfix.Path(t, set.dir+"/"+d+".vmcore")
			t.Run(strings.TrimPrefix(set.dir, "linux-amd64/")+"/"+d, func(t *testing.T) {
				lg := readDump(t, core)
				matchTruth(t, "dmesg -r", format(lg, printk.FormatOptions{Raw: true}), raw)
				matchTruth(t, "dmesg", format(lg, printk.FormatOptions{}), plain)
				for i := 1; i < len(lg.Records); i++ {
					if lg.Records[i].Seq != lg.Records[i-1].Seq+1 {
						t.Errorf("record %d: seq %d after %d", i, lg.Records[i].Seq, lg.Records[i-1].Seq)
					}
				}
			})
		}
	}
}

// TestPanicMessage: the panic dump's log ends with the panic.
func TestPanicMessage(t *testing.T) {
	core := testfix.Path(t, "linux-amd64/dumps/panic/elf.vmcore")
	lg := readDump(t, core)
	found := false
	for _, r := range lg.Records {
		if strings.Contains(r.Text, "Kernel panic - not syncing: sysrq triggered crash") {
			found = true
			if r.Level != 0 {
				t.Errorf("panic record level %d, want 0 (KERN_EMERG)", r.Level)
			}
		}
	}
	if !found {
		t.Fatal("no panic message in the panic dump's log")
	}
	// The crasher's PID is the caller of the sysrq records.
	pid := testfix.Marker(t, testfix.Path(t, "linux-amd64/dumps/panic/truth"), "kvmgen-crasher")
	for _, r := range lg.Records {
		if strings.Contains(r.Text, "sysrq: Trigger a crash") {
			if r.Caller() != "T"+strconv.Itoa(pid) {
				t.Errorf("sysrq record caller %s, want T%d", r.Caller(), pid)
			}
			return
		}
	}
	t.Error("no \"sysrq: Trigger a crash\" record")
}

// TestDrgnPrintkRecords compares with drgn's get_printk_records on
// paging.vmcore (an independent reader of the same ring buffer).
func TestDrgnPrintkRecords(t *testing.T) {
	vmlinux := testfix.Path(t, "linux-amd64/vmlinux")
	core := testfix.Path(t, "linux-amd64/dumps/paging.vmcore")
	if testing.Short() {
		t.Skip("drgn loads the 590 MB vmlinux")
	}
	out := testfix.Drgn(t, "printk", vmlinux, core)
	lg := readDump(t, core)
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), " ", 4)
		if len(f) == 3 {
			f = append(f, "")
		}
		if len(f) != 4 {
			t.Fatalf("drgn output %q", sc.Text())
		}
		if n >= len(lg.Records) {
			t.Fatalf("drgn has more than our %d records", len(lg.Records))
		}
		r := lg.Records[n]
		seq, _ := strconv.ParseUint(f[0], 10, 64)
		ts, _ := strconv.ParseUint(f[1], 10, 64)
		lv, _ := strconv.Atoi(f[2])
		tb, err := hex.DecodeString(f[3])
		if err != nil {
			t.Fatal(err)
		}
		text := string(tb)
		if r.Seq != seq || r.TsNsec != ts || r.Level != lv || r.Text != text {
			t.Fatalf("record %d: ours {%d %d %d %q}, drgn's {%d %d %d %q}", n, r.Seq, r.TsNsec, r.Level, r.Text, seq, ts, lv, text)
		}
		n++
	}
	if n != len(lg.Records) || n == 0 {
		t.Errorf("drgn has %d records, we have %d", n, len(lg.Records))
	}
}
