package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
)

// TestLiveGuest boots the fixture kernel under QEMU (scripts/fixtures.sh
// live) with a static kvmgen in the guest, which reads the running kernel
// through /proc/kcore with /proc/kallsyms for symbols (no -kernel, no
// -core: the live defaults). Oracles: the guest's /proc/version (the text of
// linux_banner), uname -r and /sys/kernel/notes's build ID (through
// VMCOREINFO), all in the same guest.
func TestLiveGuest(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a guest (about 20 s)")
	}
	testfix.Path(t, "linux-amd64/vmlinuz")
	for _, tool := range []string{"qemu-system-x86_64", "socat", "cpio", "busybox"} {
		testfix.Tool(t, tool)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "kvmgen")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("static build: %v\n%s", err, out)
	}
	cmds := strings.Join([]string{
		"/bin/kvmgen info",
		"/bin/kvmgen read -raw linux_banner 400",
		"cat /proc/version",
		"/bin/kvmgen read -core /dev/mem linux_banner 16",
		"/bin/kvmgen read -core /dev/null linux_banner 16",
	}, "\n") + "\n"
	cf := filepath.Join(dir, "cmds")
	os.WriteFile(cf, []byte(cmds), 0o644)
	out := filepath.Join(dir, "out")
	busybox, _ := exec.LookPath("busybox")
	script := exec.Command("bash", "../../scripts/fixtures.sh", "live", out, busybox)
	script.Env = append(os.Environ(), "KVMGEN_LIVE_BINS="+bin, "KVMGEN_LIVE_CMDS="+cf)
	if log, err := script.CombinedOutput(); err != nil {
		t.Fatalf("fixtures.sh live: %v\n%s", err, log)
	}
	res := func(n string) (string, string, string) {
		o, _ := os.ReadFile(filepath.Join(out, "live-"+n+".out"))
		e, _ := os.ReadFile(filepath.Join(out, "live-"+n+".err"))
		rc, _ := os.ReadFile(filepath.Join(out, "live-"+n+".rc"))
		return string(o), string(e), strings.TrimSpace(string(rc))
	}
	info, e, rc := res("1")
	if rc != "0" {
		t.Fatalf("kvmgen info in the guest: rc %s: %s", rc, e)
	}
	uname, _ := os.ReadFile(filepath.Join(out, "uname.txt"))
	for k, v := range map[string]string{
		"file": "/proc/kcore", "kernel": "/proc/kallsyms", "architecture": "x86_64",
		"OS release": strings.TrimSpace(string(uname)), "match": "yes",
	} {
		if got := field(t, info, k); got != v {
			t.Errorf("info %s = %q, want %q\n%s", k, got, v, info)
		}
	}
	banner, e, rc := res("2")
	version, _, _ := res("3")
	if i := strings.IndexByte(banner, 0); i >= 0 {
		banner = banner[:i]
	}
	if rc != "0" || banner != version || !strings.HasPrefix(version, "Linux version ") {
		t.Errorf("linux_banner through /proc/kcore (rc %s, %s):\n%q\n/proc/version:\n%q", rc, e, banner, version)
	}
	// /dev/mem: STRICT_DEVMEM forbids RAM: a clear failure naming it.
	_, e, rc = res("4")
	if rc == "0" || !strings.Contains(e, "/dev/mem") {
		t.Errorf("/dev/mem read: rc %s, stderr %q", rc, e)
	}
	// /dev/null: symbols only.
	_, e, rc = res("5")
	if rc == "0" || !bytes.Contains([]byte(e), []byte("symbols only")) {
		t.Errorf("/dev/null read: rc %s, stderr %q", rc, e)
	}
}
