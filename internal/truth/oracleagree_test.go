package truth

import (
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
)

// TestOraclesAgree checks the two oracles against each other on every
// variant: where both print a member, they agree. It guards the parsers
// (a misparse on one side shows as a disagreement).
func TestOraclesAgree(t *testing.T) {
	testfix.Tool(t, "pahole")
	for _, v := range layoutVariants {
		t.Run(v.Pkg(), func(t *testing.T) {
			prog := v.File(t, "prog")
			pa, err := runPahole(t, prog, tags(aggregates))
			if err != nil {
				t.Fatal(err)
			}
			gd, _, err := runGDB(t, prog, aggregates, enums)
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range aggregates {
				p, g := pa[name], gd[name]
				if p == nil || g == nil {
					t.Errorf("%s: pahole has it: %v, gdb has it: %v", name, p != nil, g != nil)
					continue
				}
				if p.Size >= 0 && p.Size != g.Size { // pahole prints no size for unions
					t.Errorf("%s: size: pahole %d, gdb %d", name, p.Size, g.Size)
				}
				n := 0
				for _, pf := range p.Fields {
					gf := g.field(pf.Path)
					if gf == nil {
						t.Errorf("%s.%s: in pahole, not in gdb", name, pf.Path)
						continue
					}
					n++
					if pf.Offset != gf.Offset || pf.Size != gf.Size || pf.BitSize != gf.BitSize ||
						pf.BitOffset != gf.BitOffset || pf.Dims != gf.Dims {
						t.Errorf("%s.%s: pahole %+v, gdb %+v", name, pf.Path, pf, *gf)
					}
				}
				if n == 0 {
					t.Errorf("%s: no member compared", name)
				}
			}
		})
	}
}
