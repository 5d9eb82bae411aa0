package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
)

// TestToolDirective is the README's go generate workflow, as a user of
// kvmgen in another module has it: a tool directive for kvmgen in the
// user's go.mod (what `go get -tool` writes), `//go:generate go tool kvmgen gen ...` writes bindings
// from a kernel, and the package builds. The scratch module requires this
// checkout through a replace directive (the module proxy would serve a
// published version the same way).
func TestToolDirective(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go get, go generate and go build in a scratch module")
	}
	t.Setenv("KVMGEN_KERNEL", "")
	core := testfix.Path(t, "linux-amd64/dumps/paging.vmcore")
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go is not on PATH: %v", err)
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(goBin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("mod", "init", "example.com/scratch")
	run("mod", "edit", "-require", "github.com/kvmgen/kvmgen@v0.0.0", "-replace", "github.com/kvmgen/kvmgen="+repo)
	// What `go get -tool github.com/kvmgen/kvmgen/cmd/kvmgen@VERSION` does
	// for a published version: the tool directive, then the requirements.
	run("mod", "edit", "-tool", "github.com/kvmgen/kvmgen/cmd/kvmgen")
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil || !strings.Contains(string(gomod), "tool github.com/kvmgen/kvmgen/cmd/kvmgen") {
		t.Fatalf("go.mod after go get -tool:\n%s", gomod)
	}
	main := `package main

//go:generate go tool kvmgen gen -core ` + core + ` -type uts_namespace,new_utsname -var init_uts_ns

import (
	"fmt"
	"os"

	kvm "github.com/kvmgen/kvmgen/runtime"
)

func main() {
	kd, err := kvm.OpenOptions("", os.Args[1], kvm.Options{})
	if err != nil {
		panic(err)
	}
	k, err := Bind(kd)
	if err != nil {
		panic(err)
	}
	ns, err := k.InitUtsNs()
	if err != nil {
		panic(err)
	}
	fmt.Println(ns.Name().ReleaseString())
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	run("mod", "tidy")
	run("generate", "./...")
	if _, err := os.Stat(filepath.Join(dir, "zkvmgen_x86_64_kernel.go")); err != nil {
		t.Fatalf("go generate wrote no bindings: %v", err)
	}
	run("build", "-o", "uname", ".")
	out, err := exec.Command(filepath.Join(dir, "uname"), core).CombinedOutput()
	if err != nil {
		t.Fatalf("the scratch program: %v\n%s", err, out)
	}
	want, err := os.ReadFile(testfix.Path(t, "linux-amd64/dumps/truth/uname.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); !strings.Contains(string(want), got) || got == "" {
		t.Errorf("the scratch program printed %q; the guest's uname: %q", got, want)
	}
}
