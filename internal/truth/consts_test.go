package truth

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/gen"
)

// genConsts returns the integer constants of a generated file.
func genConsts(t *testing.T, path string) map[string]int64 {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if i >= len(vs.Values) {
					continue
				}
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.INT {
					if v, err := strconv.ParseInt(lit.Value, 0, 64); err == nil {
						out[n.Name] = v
					}
				}
			}
		}
	}
	return out
}

// TestGeneratedConstants: the Sizeof and Offsetof constants of the committed
// bindings equal gdb's sizes and offsets, for every aggregate and for every
// non-bitfield member reachable by name from it (including members promoted
// from anonymous structs and unions).
func TestGeneratedConstants(t *testing.T) {
	for _, v := range variants {
		t.Run(v.Pkg(), func(t *testing.T) {
			prog := v.File(t, "prog")
			gd, _, err := runGDB(t, prog, aggregates, nil)
			if err != nil {
				t.Fatal(err)
			}
			consts := genConsts(t, filepath.Join(v.Pkg(), "zkvmgen.go"))
			matched := 0
			for _, name := range aggregates {
				if name == "struct exotic" {
					continue // not generated (layout only)
				}
				_, tag, _ := strings.Cut(name, " ")
				goName := gen.GoName(tag)
				l := gd[name]
				if got, ok := consts["Sizeof"+goName]; !ok {
					t.Errorf("no Sizeof%s for %s", goName, name)
				} else if got != l.Size {
					t.Errorf("Sizeof%s = %d, gdb says %s is %d bytes", goName, got, name, l.Size)
				}
				for _, f := range l.Fields {
					if f.BitSize != 0 {
						continue
					}
					parts := strings.Split(f.Path, ".")
					promoted := true
					for _, p := range parts[:len(parts)-1] {
						if !strings.HasPrefix(p, "{") {
							promoted = false
						}
					}
					last := parts[len(parts)-1]
					if !promoted || strings.HasPrefix(last, "{") {
						continue
					}
					c := "Offsetof" + goName + gen.GoName(last)
					got, ok := consts[c]
					if !ok {
						continue // renamed to avoid a collision (e.g. node.bytes vs Bytes())
					}
					matched++
					if got != f.Offset {
						t.Errorf("%s = %d, gdb puts %s.%s at %d", c, got, name, f.Path, f.Offset)
					}
				}
			}
			t.Logf("%d Offsetof constants checked", matched)
			if matched < 70 {
				t.Errorf("only %d Offsetof constants matched a member", matched)
			}
		})
	}
}
