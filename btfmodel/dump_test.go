package btfmodel_test

import (
	"bytes"
	"debug/elf"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/btfmodel"
	"github.com/kvmgen/kvmgen/internal/testfix"
	kvm "github.com/kvmgen/kvmgen/runtime"
)

// elfSection reads a section with debug/elf: the oracle.
func elfSection(t *testing.T, path, name string) []byte {
	t.Helper()
	ef, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	s := ef.Section(name)
	if s == nil {
		t.Fatalf("%s has no %s", path, name)
	}
	b, err := s.Data()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// openDump opens a dump with no execfile: symbols from its kallsyms.
func openDump(t testing.TB, core string) (*kvm.KVM, *btfmodel.File) {
	t.Helper()
	kd, err := kvm.OpenOptions("", core, kvm.Options{Flags: os.O_RDONLY})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kd.Close() })
	i := kd.Info()
	f, err := btfmodel.FromMemory(kd, kd.LookupSymbol, btfmodel.Options{Arch: i.Arch, PtrSize: i.PtrSize, BuildID: kd.BuildID()})
	if err != nil {
		t.Fatal(err)
	}
	return kd, f
}

// TestBTFInDump: the BTF read out of a dump's memory (found through the
// dump's own kallsyms) is, byte for byte, the .BTF section of the kernel
// image, on every dump format, two kernel builds and two architectures.
func TestBTFInDump(t *testing.T) {
	for _, c := range []struct{ kernel, dump, arch string }{
		{"linux-amd64", "elf.vmcore", "x86_64"},
		{"linux-amd64", "paging.vmcore", "x86_64"},
		{"linux-amd64", "kdump-zlib.vmcore", "x86_64"},
		{"linux-amd64-prev", "elf.vmcore", "x86_64"},
		{"linux-amd64-prev", "kdump-zlib.vmcore", "x86_64"},
		{"linux-arm64", "elf.vmcore", "aarch64"},
		{"linux-arm64", "kdump-zlib.vmcore", "aarch64"},
	} {
		t.Run(c.kernel+"/"+c.dump, func(t *testing.T) {
			vml := testfix.Path(t, c.kernel+"/vmlinux")
			core := testfix.Path(t, c.kernel+"/dumps/"+c.dump)
			_, f := openDump(t, core)
			want := elfSection(t, vml, ".BTF")
			if !bytes.Equal(f.Raw(), want) {
				t.Fatalf("BTF in the dump: %d bytes, .BTF of %s: %d bytes, not equal", len(f.Raw()), vml, len(want))
			}
			if dm := f.DataModel(); dm.Arch != c.arch || dm.PtrSize != 8 {
				t.Errorf("data model %+v", dm)
			}
			ts, err := f.Type("struct task_struct")
			if err != nil || ts.Size() < 4000 {
				t.Fatalf("task_struct: %v, %v", ts, err)
			}
		})
	}
}

// TestModuleBTFInDump: the split BTF of each module loaded in the fixture
// guest, read from the dump's btf_modules list, is the .BTF section of the
// module file the guest loaded; and the module's types are found.
func TestModuleBTFInDump(t *testing.T) {
	for _, k := range []string{"linux-amd64", "linux-amd64-prev"} {
		t.Run(k, func(t *testing.T) {
			core := testfix.Path(t, k+"/dumps/paging.vmcore")
			mdir := testfix.Path(t, k+"/modules")
			kos, _ := filepath.Glob(filepath.Join(mdir, "*.ko"))
			if len(kos) < 5 {
				t.Fatalf("modules %v", kos)
			}
			kd, f := openDump(t, core)
			mods, err := f.ModulesInMemory(kd, kd.LookupSymbol)
			if err != nil {
				t.Fatal(err)
			}
			var got, want []string
			for _, m := range mods {
				got = append(got, m.Name)
				ko := filepath.Join(mdir, m.Name+".ko")
				if !bytes.Equal(m.Raw, elfSection(t, ko, ".BTF")) {
					t.Errorf("module %s: the BTF in the dump at %#x is not %s's .BTF", m.Name, m.Addr, ko)
				}
				if err := f.AddModule(m); err != nil {
					t.Error(err)
				}
			}
			for _, ko := range kos {
				want = append(want, strings.TrimSuffix(filepath.Base(ko), ".ko"))
			}
			sort.Strings(got)
			sort.Strings(want)
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("modules in the dump %v, loaded by the guest %v", got, want)
			}
			ty, err := f.Type("struct fw_cfg_sysfs_entry") // qemu_fw_cfg's own
			if err != nil {
				t.Fatal(err)
			}
			if ty.Size() <= 64 {
				t.Errorf("struct fw_cfg_sysfs_entry: size %d", ty.Size())
			}
		})
	}
}
