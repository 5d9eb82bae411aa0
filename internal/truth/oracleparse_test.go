package truth

import (
	"reflect"
	"strings"
	"testing"
)

// The expected values below are worked out by hand from the C layout rules
// (x86-64 SysV psABI) for the declarations in the comments, not copied from
// any program's output.

// struct s { unsigned a:3; int b:7; struct { short c; union { char d[2][3]; int (*fn)(void); }; }; };
const paholeSample = `struct s {
	unsigned int               a:3;                  /*     0: 0  4 */
	int                        b:7;                  /*     0: 3  4 */

	/* XXX 22 bits hole, try to pack */

	struct {
		short int          c;                    /*     4     2 */

		/* XXX 6 bytes hole, try to pack */

		union {
			char       d[2][3];              /*    12     6 */
			int        (*fn)(void);          /*    12     8 */
		};                                       /*    12     8 */
	};                                               /*     4    16 */

	/* size: 20, cachelines: 1, members: 3 */
} __attribute__((__packed__));
`

const gdbSample = `/* offset      |    size */  type = struct s {
/*      0: 0   |       4 */    unsigned int a : 3;
/*      0: 3   |       4 */    int b : 7;
/* XXX  6-bit hole       */
/*      4      |      16 */    struct {
/*      4      |       2 */        short c;
/* XXX  6-byte hole      */
/*     12      |       8 */        union {
/*                     6 */            char d[2][3];
/*                     8 */            int (*fn)(void);

                                       /* total size (bytes):    8 */
                                   };

                                   /* total size (bytes):   16 */
                               };

                               /* total size (bytes):   20 */
                             }
type = enum e {E_A = -3, E_B, E_C = 10, E_D}
`

func wantSample() []field {
	return []field{
		{Path: "a", Offset: -1, Size: 4, BitSize: 3, BitOffset: 0},
		{Path: "b", Offset: -1, Size: 4, BitSize: 7, BitOffset: 3},
		{Path: "{0}.c", Offset: 4, Size: 2},
		{Path: "{0}.{0}.d", Offset: 12, Size: 6, Dims: "[2][3]"},
		{Path: "{0}.{0}.fn", Offset: 12, Size: 8},
		{Path: "{0}.{0}", Offset: 12, Size: 8, Expanded: true},
		{Path: "{0}", Offset: 4, Size: 16, Expanded: true},
	}
}

func TestParsePahole(t *testing.T) {
	got, err := parsePahole(paholeSample)
	if err != nil {
		t.Fatal(err)
	}
	l := got["struct s"]
	if l == nil {
		t.Fatalf("struct s not parsed: %v", got)
	}
	if l.Size != 20 {
		t.Errorf("size = %d, want 20", l.Size)
	}
	decls := map[string]string{}
	for i := range l.Fields {
		decls[l.Fields[i].Path] = strings.Join(strings.Fields(l.Fields[i].Decl), " ")
		l.Fields[i].Decl = ""
	}
	if !reflect.DeepEqual(l.Fields, wantSample()) {
		t.Errorf("fields:\n got %+v\nwant %+v", l.Fields, wantSample())
	}
	if decls["a"] != "unsigned int a:3" || decls["{0}.{0}.fn"] != "int (*fn)(void)" {
		t.Errorf("declarations: %q", decls)
	}
}

func TestParseGDB(t *testing.T) {
	got, en, err := parseGDB(gdbSample)
	if err != nil {
		t.Fatal(err)
	}
	l := got["struct s"]
	if l == nil {
		t.Fatalf("struct s not parsed: %v", got)
	}
	if l.Size != 20 {
		t.Errorf("size = %d, want 20", l.Size)
	}
	if !reflect.DeepEqual(l.Fields, wantSample()) {
		t.Errorf("fields:\n got %+v\nwant %+v", l.Fields, wantSample())
	}
	want := map[string]int64{"E_A": -3, "E_B": -2, "E_C": 10, "E_D": 11}
	if !reflect.DeepEqual(en["enum e"], want) {
		t.Errorf("enum e = %v, want %v", en["enum e"], want)
	}
}

func TestDeclNameDims(t *testing.T) {
	for _, c := range []struct {
		decl, name, dims string
		bits             int64
	}{
		{"int (*raw_fn)(void)", "raw_fn", "", 0},
		{"short int matrix[2][3]", "matrix", "[2][3]", 0},
		{"int items[]", "items", "[]", 0},
		{"unsigned int ready : 1", "ready", "", 1},
		{"long long unsigned int     big:40", "big", "", 40},
		{"struct node * *            slot", "slot", "", 0},
		{"const char  *              label", "label", "", 0},
		{"void (*(*handler)(int))(void)", "handler", "", 0},
		{"void (*handlers[2])(int)", "handlers", "[2]", 0},
		{"void                       (*handlers)(int)[2]", "handlers", "[2]", 0},
	} {
		n, d, b, err := declNameDims(c.decl)
		if err != nil || n != c.name || d != c.dims || b != c.bits {
			t.Errorf("declNameDims(%q) = %q %q %d %v, want %q %q %d", c.decl, n, d, b, err, c.name, c.dims, c.bits)
		}
	}
}
