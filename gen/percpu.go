package gen

import (
	"reflect"

	"github.com/cilium/ebpf/btf"
	"github.com/kvmgen/kvmgen/dwarfmodel"
)

// isPerCPU reports whether v is a per-CPU variable of the kernel f
// describes: for DWARF, a variable whose link-time address lies in the
// .data..percpu section (between the symbols __per_cpu_start and
// __per_cpu_end); for BTF, a variable of the .data..percpu DATASEC.
func isPerCPU(f Source, v *dwarfmodel.Variable) bool {
	f = unwrapSource(f)
	if s, ok := f.(interface{ Spec() *btf.Spec }); ok && s.Spec() != nil {
		for t, err := range s.Spec().All() {
			if err != nil {
				break
			}
			ds, ok := t.(*btf.Datasec)
			if !ok || ds.Name != ".data..percpu" {
				continue
			}
			for _, vs := range ds.Vars {
				if bv, ok := vs.Type.(*btf.Var); ok && bv.Name == v.Name {
					return true
				}
			}
			return false
		}
	}
	s, ok := f.(interface {
		Symbol(name string) (dwarfmodel.Symbol, bool)
	})
	if !ok {
		return false
	}
	start, ok1 := s.Symbol("__per_cpu_start")
	end, ok2 := s.Symbol("__per_cpu_end")
	return ok1 && ok2 && start.Value < end.Value && v.Address >= start.Value && v.Address < end.Value
}

// unwrapSource returns the Source a wrapper embeds (a struct with an
// embedded dwarfmodel.Source field, as kvmgen's command uses to add Close),
// whose optional methods (Symbol, Spec) the wrapper does not promote.
func unwrapSource(f Source) Source {
	for i := 0; i < 4; i++ {
		v := reflect.ValueOf(f)
		if v.Kind() == reflect.Pointer && !v.IsNil() {
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct {
			return f
		}
		fv := v.FieldByName("Source")
		if !fv.IsValid() || !fv.CanInterface() {
			return f
		}
		in, ok := fv.Interface().(Source)
		if !ok || in == nil {
			return f
		}
		f = in
	}
	return f
}
