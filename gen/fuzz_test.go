package gen_test

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/dwarfmodel"
	"github.com/kvmgen/kvmgen/gen"
)

// byteReader hands out fuzz input; zeros once it is used up.
type byteReader struct{ b []byte }

func (r *byteReader) next() int {
	if len(r.b) == 0 {
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return int(v)
}

// fuzzModel builds a type graph from data: any shape the model types
// allow, cycles, bogus offsets and sizes included.
func fuzzModel(data []byte) gen.Input {
	r := &byteReader{data}
	var types []dwarfmodel.Type
	pick := func() dwarfmodel.Type {
		if len(types) == 0 {
			return nil
		}
		return types[r.next()%len(types)]
	}
	names := []string{"a", "b", "a_b", "a__b", "Addr", "bytes", "kernel", "x", "", "_"}
	name := func() string { return names[r.next()%len(names)] }
	var structs []*dwarfmodel.Struct
	n := 2 + r.next()%24
	for i := 0; i < n; i++ {
		switch r.next() % 9 {
		case 0:
			enc := dwarfmodel.Encoding(1 + r.next()%8)
			types = append(types, &dwarfmodel.Base{Name: name() + " int", ByteSize: int64(r.next() % 20), Encoding: enc})
		case 1:
			s := &dwarfmodel.Struct{Kind: dwarfmodel.Kind(1 + r.next()%2), Name: name(), ByteSize: int64(r.next()) - 8, Incomplete: r.next()%8 == 0}
			structs = append(structs, s)
			types = append(types, s)
		case 2:
			e := &dwarfmodel.Enum{Name: name(), ByteSize: int64(r.next() % 10), Signed: r.next()%2 == 0}
			for j := r.next() % 5; j > 0; j-- {
				e.Values = append(e.Values, dwarfmodel.Enumerator{Name: name(), Value: int64(int8(r.next())) << (r.next() % 64)})
			}
			types = append(types, e)
		case 3:
			types = append(types, &dwarfmodel.Pointer{Elem: pick(), ByteSize: int64(r.next() % 10)})
		case 4:
			a := &dwarfmodel.Array{Elem: pick()}
			for j := r.next() % 4; j > 0; j-- {
				a.Dims = append(a.Dims, int64(int8(r.next()))<<(r.next()%64))
			}
			types = append(types, a)
		case 5:
			td := &dwarfmodel.Typedef{Name: name() + "_t", Type: pick()}
			if r.next()%4 == 0 {
				td.Type = td
			}
			types = append(types, td)
		case 6:
			types = append(types, &dwarfmodel.Qualified{Const: true, Type: pick()})
		case 7:
			types = append(types, &dwarfmodel.Func{Return: pick()})
		default:
			types = append(types, &dwarfmodel.Void{})
		}
	}
	for _, s := range structs {
		for j := r.next() % 8; j > 0; j-- {
			m := dwarfmodel.Member{Name: name(), Type: pick(), ByteOffset: int64(int8(r.next()))}
			if r.next()%4 == 0 {
				m.BitSize = int64(r.next() % 70)
				m.DataBitOffset = int64(int16(r.next()<<8 | r.next()))
			}
			s.Members = append(s.Members, m)
		}
	}
	in := gen.Input{Package: "fuzz", DataModel: dwarfmodel.DataModel{Arch: "x", PtrSize: 4 << (r.next() % 2), ByteOrder: binary.BigEndian}, Depth: r.next() % 3}
	for j := 1 + r.next()%3; j > 0; j-- {
		in.Types = append(in.Types, pick())
	}
	for j := r.next() % 3; j > 0; j-- {
		in.Vars = append(in.Vars, &dwarfmodel.Variable{Name: name(), Type: pick()})
	}
	return in
}

// FuzzGenerateModel checks that no model makes the generator panic, hang,
// or write code that does not parse (Render gofmt's it, which parses it).
func FuzzGenerateModel(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x10\x01\x01\x00\x10\x00\x01\x00\x03\x01\x04\x01\x02\x05\x01\x01\x07\x03\x00\x04\x00\x02\x10\x01"))
	f.Add([]byte("\x08\x01\x00\x01\x40\x00\x01\x01\x01\x30\x00\x00\x00\x04\x02\x04\x00\x03\x03\x00\x02\x05\x00\x00\x06\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		in := fuzzModel(data)
		_, err := gen.GenerateModel(in)
		if err != nil && strings.Contains(err.Error(), "formatting the generated code") {
			t.Fatalf("generated code does not parse: %v", err)
		}
	})
}
