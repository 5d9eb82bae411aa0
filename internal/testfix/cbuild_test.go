package testfix

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestBuildKeyed: a build is made once per key and found again; other
// flags are another key; the output does not depend on the directory it
// was compiled in (the prefix map), so two directories give the same bytes.
func TestBuildKeyed(t *testing.T) {
	tc := GCC["x86_64"]
	a := TruthObject(t, tc, "-gdwarf-4")
	b := TruthObject(t, tc, "-gdwarf-4")
	if a != b {
		t.Errorf("the same build twice: %s, then %s", a, b)
	}
	if c := TruthObject(t, tc, "-gdwarf-5"); c == a {
		t.Errorf("-gdwarf-5 reused the -gdwarf-4 build %s", a)
	}
	if !strings.HasPrefix(a, CacheDir()+string(filepath.Separator)) || filepath.Base(a) != "prog.o" {
		t.Errorf("object at %s, want CacheDir()/KEY/prog.o", a)
	}
	d1, d2 := t.TempDir(), t.TempDir()
	o1, err := Compile(d1, TruthBuild(tc, true, "-gdwarf-4"))
	if err != nil {
		t.Fatal(err)
	}
	o2, err := Compile(d2, TruthBuild(tc, true, "-gdwarf-4"))
	if err != nil {
		t.Fatal(err)
	}
	x, _ := os.ReadFile(o1)
	y, _ := os.ReadFile(o2)
	z, _ := os.ReadFile(a)
	if len(x) == 0 || !bytes.Equal(x, y) || !bytes.Equal(x, z) {
		t.Errorf("the object differs by the directory it was built in (%d, %d, %d bytes)", len(x), len(y), len(z))
	}
	if bytes.Contains(x, []byte(d1)) {
		t.Errorf("%s holds its build directory %s", o1, d1)
	}
}

// TestTruthProgram builds the truth program for each GNU toolchain, runs
// both its reports and checks what they print and that the first leaves a
// core of the target's architecture.
func TestTruthProgram(t *testing.T) {
	machine := map[string]elf.Machine{"x86_64": elf.EM_X86_64, "i386": elf.EM_386, "aarch64": elf.EM_AARCH64, "s390x": elf.EM_S390}
	for _, arch := range Arches {
		t.Run(arch, func(t *testing.T) {
			tc := GCC[arch]
			prog := Truth(t, tc, "-gdwarf-5")
			kinds := string(Run(t, tc, prog, "kinds"))
			for _, want := range []string{"sym g_kinds ", "\nmem ", "\nc=107\n", "\ng_banner=\"kvmgen-truth\"\n", "\ng_vec[2]=-3\n"} {
				if !strings.Contains(kinds, want) {
					t.Errorf("prog kinds does not print %q", want)
				}
			}
			out, core := RunCore(t, tc, prog)
			if !strings.HasPrefix(string(out), "g_count=3\n") {
				t.Errorf("prog's output starts %.40q, want g_count=3", out)
			}
			for _, want := range []string{"\nnode[2].label=\"charlie-delta\"\n", "\ng_flex.items[4]=2000006\n"} {
				if !strings.Contains(string(out), want) {
					t.Errorf("prog does not print %q", want)
				}
			}
			f, err := elf.Open(core)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Type != elf.ET_CORE || f.Machine != machine[arch] {
				t.Errorf("core %s: type %v machine %v, want ET_CORE %v", core, f.Type, f.Machine, machine[arch])
			}
		})
	}
}

// TestCBuildSources: an explicit source list is compiled as given, to the
// output named.
func TestCBuildSources(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "one.c")
	if err := os.WriteFile(src, []byte("int one = 1;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := CBuild{TC: GCC["x86_64"], Sources: []string{src}, Flags: []string{"-c"}, Out: "one.o"}
	cmd, err := b.Command("/build")
	if err != nil {
		t.Fatal(err)
	}
	want := "gcc -O0 -g -fno-omit-frame-pointer -ffile-prefix-map=/build=. -c -o one.o one.c"
	if got := strings.Join(cmd, " "); got != want {
		t.Errorf("command %q, want %q", got, want)
	}
	o := BuildC(t, b)
	f, err := elf.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, _ := f.Symbols()
	found := false
	for _, s := range syms {
		found = found || s.Name == "one"
	}
	if filepath.Base(o) != "one.o" || !found {
		t.Errorf("%s: no symbol one", o)
	}
	// The key follows the source's bytes.
	k1, _ := b.Key()
	time.Sleep(10 * time.Millisecond)
	if err := os.WriteFile(src, []byte("int one = 2;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if k2, _ := b.Key(); k1 == k2 {
		t.Error("the key did not change with the source")
	}
}

// TestDrgnScripts: every drgn script a test names exists, every script is
// named by a test, and each (with the prelude) is valid Python.
func TestDrgnScripts(t *testing.T) {
	entries, err := drgnScripts.ReadDir("drgn")
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, e := range entries {
		have[strings.TrimSuffix(e.Name(), ".py")] = true
	}
	re := regexp.MustCompile(`testfix\.Drgn\(t, "([^"]+)"`)
	used := map[string]bool{}
	eachTestFile(t, func(path, src string) {
		for _, m := range re.FindAllStringSubmatch(src, -1) {
			used[m[1]] = true
			if !have[m[1]] {
				t.Errorf("%s: testfix.Drgn(%q): no drgn/%s.py", path, m[1], m[1])
			}
		}
	})
	prelude, _ := drgnScripts.ReadFile("drgn/prelude.py")
	dir := t.TempDir()
	var files []string
	for name := range have {
		if name == "prelude" {
			continue
		}
		if !used[name] {
			t.Errorf("drgn/%s.py: no test runs it", name)
		}
		script, _ := drgnScripts.ReadFile("drgn/" + name + ".py")
		f := filepath.Join(dir, name+".py")
		if err := os.WriteFile(f, append(append(prelude, '\n'), script...), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	if py, err := exec.LookPath("python3"); err == nil {
		if out, err := exec.Command(py, append([]string{"-m", "py_compile"}, files...)...).CombinedOutput(); err != nil {
			t.Errorf("the drgn scripts (with the prelude) do not compile: %v\n%s", err, out)
		}
	}
}

// TestOracleKey: the memo key of an oracle run changes when a file named
// in its arguments changes.
func TestOracleKey(t *testing.T) {
	f := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(f, []byte("a"), 0o644); err != nil {
		t.Fatal(err)
	}
	k1 := oracleKey("pahole", []string{"-F", "dwarf", f})
	if err := os.WriteFile(f, []byte("ab"), 0o644); err != nil {
		t.Fatal(err)
	}
	if k2 := oracleKey("pahole", []string{"-F", "dwarf", f}); k1 == k2 {
		t.Error("the key did not change with the file")
	}
}
