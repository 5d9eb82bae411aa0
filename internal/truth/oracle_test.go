package truth

// Parsers for the independent layout oracles: pahole -F dwarf and gdb's
// `ptype /o`. Both print, for every member of a struct (and, inline, of the
// anonymous aggregates it contains), the offset from the start of the
// outermost struct and the size; for a bitfield they print "BYTE:BIT" where
// BYTE*8+BIT is the DWARF 5 data_bit_offset from the start of the outermost
// struct in the target's bit numbering (checked by hand against the C
// layout rules of both byte orders; the value test confirms it on memory).

import (
	"bufio"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
)

// field is one member as laid out by an oracle or by kvmgen. Offsets are
// absolute: from the start of the outermost struct.
type field struct {
	Path      string // "shape.{0}.circle.r": anonymous members are {N}, N counting the anonymous siblings
	Offset    int64  // bytes; -1 when the oracle did not print it
	Size      int64  // bytes (a bitfield's is its declared type's size)
	BitSize   int64  // non-zero for bitfields
	BitOffset int64  // bitfields: data_bit_offset from the start of the outermost struct
	Dims      string // "[2][3]" for arrays, "" otherwise
	Expanded  bool   // the oracle listed this member's own members
	Decl      string // the C declaration (pahole's spelling; kvmgen's dwarfmodel.Declare), "" if unknown
}

// layout is one struct or union as an oracle lays it out.
type layout struct {
	Kind   string // "struct" or "union"
	Name   string
	Size   int64 // -1 when not printed
	Fields []field
}

func (l *layout) field(path string) *field {
	for i := range l.Fields {
		if l.Fields[i].Path == path {
			return &l.Fields[i]
		}
	}
	return nil
}

// frame is an open aggregate while parsing.
type frame struct {
	prefix string // path prefix of its members, "" at top level
	offset int64  // absolute offset of the aggregate
	union  bool
	anon   int // anonymous members seen so far
	start  int // index in Fields where its members begin (for gdb's named close)
}

var (
	paTop    = regexp.MustCompile(`^(struct|union) (\w+) \{$`)
	paOpen   = regexp.MustCompile(`^(struct|union) \{$`)
	paClose  = regexp.MustCompile(`^\}(?:\s*__attribute__\(\(.*?\)\))?\s*(\w*)\s*;\s*/\*\s*(\d+)\s+(\d+)\s*\*/$`)
	paEnd    = regexp.MustCompile(`^\}(?:\s*__attribute__\(\(.*?\)\))?;$`)
	paMember = regexp.MustCompile(`^(.*?);\s*/\*\s*(\d+)(?::\s*(\d+))?\s+(\d+)\s*\*/$`)
	paSize   = regexp.MustCompile(`^/\* size: (\d+),`)

	declFnPtr = regexp.MustCompile(`\(\s*\*+\s*(\w+)\s*((?:\[\d*\])*)\s*\)`)
	declDims  = regexp.MustCompile(`((?:\[\d*\])+)$`)
	declName  = regexp.MustCompile(`(\w+)$`)
)

// declNameDims extracts the member name, array dimensions and bit size
// from a C declaration as pahole or gdb print it: "int (*raw_fn)(void)",
// "short int matrix[2][3]", "unsigned int ready : 1".
func declNameDims(decl string) (name, dims string, bits int64, err error) {
	d := strings.TrimSpace(decl)
	if i := strings.LastIndex(d, ":"); i >= 0 {
		if n, e := strconv.ParseInt(strings.TrimSpace(d[i+1:]), 10, 64); e == nil {
			bits = n
			d = strings.TrimSpace(d[:i])
		}
	}
	if m := declFnPtr.FindStringSubmatch(d); m != nil {
		dims = m[2]
		if dims == "" {
			// pahole spells an array of function pointers
			// "void (*handlers)(int)[2]".
			if t := declDims.FindStringSubmatch(d); t != nil {
				dims = t[1]
			}
		}
		return m[1], dims, bits, nil
	}
	if m := declDims.FindStringSubmatch(d); m != nil {
		dims = m[1]
		d = strings.TrimSpace(strings.TrimSuffix(d, m[1]))
	}
	m := declName.FindStringSubmatch(d)
	if m == nil {
		return "", "", 0, fmt.Errorf("no member name in declaration %q", decl)
	}
	return m[1], dims, bits, nil
}

func memberPath(fr *frame, name string) string {
	if name == "" {
		name = fmt.Sprintf("{%d}", fr.anon)
		fr.anon++
	}
	return fr.prefix + name
}

// parsePahole parses the output of `pahole -F dwarf -C A,B,... FILE`.
func parsePahole(out string) (map[string]*layout, error) {
	res := map[string]*layout{}
	var cur *layout
	var stack []*frame
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	ln := 0
	for sc.Scan() {
		ln++
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if cur == nil {
			m := paTop.FindStringSubmatch(line)
			if m == nil {
				return nil, fmt.Errorf("pahole line %d: want a struct or union, got %q", ln, line)
			}
			cur = &layout{Kind: m[1], Name: m[2], Size: -1}
			stack = []*frame{{union: m[1] == "union"}}
			continue
		}
		top := stack[len(stack)-1]
		switch {
		case paEnd.MatchString(line) && len(stack) == 1:
			res[cur.Kind+" "+cur.Name] = cur
			cur, stack = nil, nil
		case paOpen.MatchString(line):
			m := paOpen.FindStringSubmatch(line)
			stack = append(stack, &frame{union: m[1] == "union", start: len(cur.Fields)})
		case paClose.MatchString(line):
			if len(stack) < 2 {
				return nil, fmt.Errorf("pahole line %d: unbalanced %q", ln, line)
			}
			m := paClose.FindStringSubmatch(line)
			inner := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			parent := stack[len(stack)-1]
			off, _ := strconv.ParseInt(m[2], 10, 64)
			size, _ := strconv.ParseInt(m[3], 10, 64)
			path := memberPath(parent, m[1])
			// Children were recorded with an empty prefix relative to
			// the inner frame: prefix them now that the name is known.
			for i := inner.start; i < len(cur.Fields); i++ {
				cur.Fields[i].Path = path + "." + cur.Fields[i].Path
			}
			cur.Fields = append(cur.Fields, field{Path: path, Offset: off, Size: size, Expanded: true})
		case paMember.MatchString(line):
			m := paMember.FindStringSubmatch(line)
			name, dims, bits, err := declNameDims(m[1])
			if err != nil {
				return nil, fmt.Errorf("pahole line %d: %v", ln, err)
			}
			off, _ := strconv.ParseInt(m[2], 10, 64)
			size, _ := strconv.ParseInt(m[4], 10, 64)
			f := field{Path: memberPath(top, name), Offset: off, Size: size, Dims: dims, Decl: m[1]}
			if m[3] != "" {
				bit, _ := strconv.ParseInt(m[3], 10, 64)
				f.BitSize = bits
				f.BitOffset = off*8 + bit
				f.Offset = -1
			} else if bits != 0 {
				return nil, fmt.Errorf("pahole line %d: bitfield without a bit offset: %q", ln, line)
			}
			cur.Fields = append(cur.Fields, f)
		case paSize.MatchString(line):
			cur.Size, _ = strconv.ParseInt(paSize.FindStringSubmatch(line)[1], 10, 64)
		default:
			// comments (holes, cachelines, sums), pahole's inferred
			// ":0" alignment lines: no member.
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("pahole: %s %s is not closed", cur.Kind, cur.Name)
	}
	return res, sc.Err()
}

var (
	gdbTop     = regexp.MustCompile(`type = (struct|union) (\w+) \{$`)
	gdbPrefix  = regexp.MustCompile(`^/\*\s*(?:(\d+)(?::\s*(\d+))?\s*\|)?\s*(\d+)\s*\*/\s*(.*)$`)
	gdbOpen    = regexp.MustCompile(`^(struct|union)(?: \w+)? \{$`)
	gdbClose   = regexp.MustCompile(`^\}\s*(\w*)\s*;$`)
	gdbTotal   = regexp.MustCompile(`^/\* total size \(bytes\):\s*(\d+) \*/$`)
	gdbEnum    = regexp.MustCompile(`^type = enum (\w+) \{(.*)\}$`)
	gdbEnumVal = regexp.MustCompile(`^(\w+)(?: = (-?\d+))?$`)
)

// parseGDB parses the output of gdb -batch with one `ptype /o struct X` (or
// union) per type, and `ptype enum E` lines.
func parseGDB(out string) (map[string]*layout, map[string]map[string]int64, error) {
	res := map[string]*layout{}
	enums := map[string]map[string]int64{}
	var cur *layout
	type gframe struct {
		frame
		pending field // the member this frame is (filled at its close)
	}
	var stack []*gframe
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	ln := 0
	for sc.Scan() {
		ln++
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if cur == nil {
			if m := gdbEnum.FindStringSubmatch(line); m != nil {
				vals := map[string]int64{}
				next := int64(0)
				for _, e := range strings.Split(m[2], ",") {
					em := gdbEnumVal.FindStringSubmatch(strings.TrimSpace(e))
					if em == nil {
						return nil, nil, fmt.Errorf("gdb line %d: bad enumerator %q", ln, e)
					}
					if em[2] != "" {
						next, _ = strconv.ParseInt(em[2], 10, 64)
					}
					vals[em[1]] = next
					next++
				}
				enums["enum "+m[1]] = vals
				continue
			}
			m := gdbTop.FindStringSubmatch(line)
			if m == nil {
				continue // gdb chatter
			}
			cur = &layout{Kind: m[1], Name: m[2], Size: -1}
			stack = []*gframe{{frame: frame{union: m[1] == "union"}}}
			continue
		}
		top := stack[len(stack)-1]
		if m := gdbTotal.FindStringSubmatch(line); m != nil {
			n, _ := strconv.ParseInt(m[1], 10, 64)
			if len(stack) == 1 {
				cur.Size = n
			}
			continue
		}
		if line == "}" && len(stack) == 1 {
			res[cur.Kind+" "+cur.Name] = cur
			cur, stack = nil, nil
			continue
		}
		if m := gdbClose.FindStringSubmatch(line); m != nil {
			if len(stack) < 2 {
				return nil, nil, fmt.Errorf("gdb line %d: unbalanced %q", ln, line)
			}
			inner := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			parent := stack[len(stack)-1]
			path := memberPath(&parent.frame, m[1])
			for i := inner.start; i < len(cur.Fields); i++ {
				cur.Fields[i].Path = path + "." + cur.Fields[i].Path
			}
			f := inner.pending
			f.Path = path
			f.Expanded = true
			cur.Fields = append(cur.Fields, f)
			continue
		}
		m := gdbPrefix.FindStringSubmatch(line)
		if m == nil || strings.HasPrefix(m[4], "XXX") || m[4] == "" {
			continue // holes, padding
		}
		if strings.HasPrefix(line, "/* XXX") {
			continue
		}
		off := top.offset
		if top.union || m[1] == "" {
			// gdb prints no offset for union members: the union's.
			off = top.offset
		}
		if m[1] != "" {
			off, _ = strconv.ParseInt(m[1], 10, 64)
		}
		size, _ := strconv.ParseInt(m[3], 10, 64)
		decl := m[4]
		if gdbOpen.MatchString(decl) {
			g := &gframe{frame: frame{union: strings.HasPrefix(decl, "union"), offset: off, start: len(cur.Fields)}}
			g.pending = field{Offset: off, Size: size}
			stack = append(stack, g)
			continue
		}
		if !strings.HasSuffix(decl, ";") {
			return nil, nil, fmt.Errorf("gdb line %d: unexpected %q", ln, line)
		}
		name, dims, bits, err := declNameDims(strings.TrimSuffix(decl, ";"))
		if err != nil {
			return nil, nil, fmt.Errorf("gdb line %d: %v", ln, err)
		}
		f := field{Path: memberPath(&top.frame, name), Offset: off, Size: size, Dims: dims}
		if m[2] != "" {
			bit, _ := strconv.ParseInt(m[2], 10, 64)
			f.BitSize = bits
			f.BitOffset = off*8 + bit
			f.Offset = -1
		}
		cur.Fields = append(cur.Fields, f)
	}
	if cur != nil {
		return nil, nil, fmt.Errorf("gdb: %s %s is not closed", cur.Kind, cur.Name)
	}
	return res, enums, sc.Err()
}

// runPahole runs pahole -F dwarf on file for the named types (tags without
// "struct "/"union ").
func runPahole(t testing.TB, file string, names []string) (map[string]*layout, error) {
	t.Helper()
	return parsePahole(testfix.Pahole(t, "-F", "dwarf", "-C", strings.Join(names, ","), file))
}

// runGDB runs gdb's ptype /o on the aggregates (spelled "struct X") and
// ptype on the enums (spelled "enum E").
func runGDB(t testing.TB, file string, aggs, enums []string) (map[string]*layout, map[string]map[string]int64, error) {
	t.Helper()
	var cmds []string
	for _, a := range aggs {
		cmds = append(cmds, "ptype /o "+a)
	}
	for _, e := range enums {
		cmds = append(cmds, "ptype "+e)
	}
	return parseGDB(testfix.GDB(t, file, cmds...))
}
