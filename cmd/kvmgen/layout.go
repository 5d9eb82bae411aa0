package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kvmgen/kvmgen/dwarfmodel"
)

func init() {
	register(command{
		name:  "layout",
		usage: "layout [-json] [-kernel VMLINUX|-btf FILE|-core DUMP] TYPE...: print type layouts (offsets, sizes, bitfields), like pahole",
		run:   runLayout,
	})
}

const layoutSynopsis = `layout [-json] [-kernel VMLINUX | -btf FILE | -core DUMP] TYPE...

Prints the layout of each TYPE (a struct, union or enum tag, "struct foo",
a typedef or a base type name) as the kernel's DWARF (-kernel) or BTF (-btf
FILE, the BTF in a dump with -core, else the running kernel's
/sys/kernel/btf/vmlinux) describes it.

Text output looks like pahole's: one line per member with its offset and
size in bytes; bitfields add ":BITS" and their data bit offset.

-json prints ONE JSON array with one element per TYPE:
  {"name", "kind", "size", "type"?, "members"?, "values"?}
kind is struct, union, class, enum, typedef, base, pointer, array, function
or void. A typedef reports the type it names in "type" and, when that is a
struct or union (through any typedefs), that aggregate's "members". An enum
reports "values": [{"name", "value"}]. A member is
  {"name", "offset", "size", "type", "bit_size"?, "data_bit_offset"?, "members"?}
with offset in bytes from the start of the aggregate that declares the
member; bitfields add bit_size and data_bit_offset (the DWARF 5 meaning:
bits from the start of the declaring aggregate, in the target's bit
numbering); an anonymous struct or union member has name "" and its own
"members", whose offsets count from its start. "type" is the C spelling of
the member's type ("struct list_head", "char [16]", "void (*)(int)").
Sizes are -1 where unknown (flexible arrays, incomplete types).`

type layoutValue struct {
	Name  string `json:"name"`
	Value int64  `json:"value"`
}

type layoutMember struct {
	Name          string          `json:"name"`
	Offset        int64           `json:"offset"`
	Size          int64           `json:"size"`
	Type          string          `json:"type"`
	BitSize       *int64          `json:"bit_size,omitempty"`
	DataBitOffset *int64          `json:"data_bit_offset,omitempty"`
	Members       *[]layoutMember `json:"members,omitempty"`
}

type layoutType struct {
	Name    string          `json:"name"`
	Kind    string          `json:"kind"`
	Size    int64           `json:"size"`
	Type    string          `json:"type,omitempty"`
	Members *[]layoutMember `json:"members,omitempty"`
	Values  []layoutValue   `json:"values,omitempty"`
}

func runLayout(stdout io.Writer, args []string) error {
	fs := newFlagSet("layout", layoutSynopsis)
	kernel := kernelFlag(fs)
	btfFile := btfFlag(fs)
	core := fs.String("core", "", "take the types from this dump's own BTF (with no -kernel or -btf)")
	asJSON := fs.Bool("json", false, "print one JSON array instead of text")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("layout: give at least one TYPE")
	}
	f, err := typesFor(*kernel, *btfFile, *core)
	if err != nil {
		return fmt.Errorf("layout: %w", err)
	}
	defer f.Close()
	var ts []dwarfmodel.Type
	for _, name := range fs.Args() {
		t, err := f.Type(name)
		if err != nil {
			return fmt.Errorf("layout: %w", err)
		}
		ts = append(ts, t)
	}
	if *asJSON {
		out := []layoutType{}
		for i, t := range ts {
			out = append(out, describeType(fs.Arg(i), t))
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	for i, t := range ts {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		printLayout(stdout, fs.Arg(i), t)
	}
	return nil
}

func kindName(t dwarfmodel.Type) string {
	switch x := t.(type) {
	case *dwarfmodel.Struct:
		return x.Kind.String()
	case *dwarfmodel.Enum:
		return "enum"
	case *dwarfmodel.Typedef:
		return "typedef"
	case *dwarfmodel.Base:
		return "base"
	case *dwarfmodel.Pointer:
		return "pointer"
	case *dwarfmodel.Array:
		return "array"
	case *dwarfmodel.Func:
		return "function"
	case *dwarfmodel.Qualified:
		return kindName(x.Type)
	}
	return "void"
}

func describeType(asked string, t dwarfmodel.Type) layoutType {
	lt := layoutType{Kind: kindName(t), Size: t.Size()}
	switch x := t.(type) {
	case *dwarfmodel.Struct:
		lt.Name = x.Name
		ms := members(x, 0)
		lt.Members = &ms
	case *dwarfmodel.Enum:
		lt.Name = x.Name
		for _, v := range x.Values {
			lt.Values = append(lt.Values, layoutValue{v.Name, v.Value})
		}
	case *dwarfmodel.Typedef:
		lt.Name = x.Name
		lt.Type = dwarfmodel.Declare(x.Type, "")
		if s, ok := dwarfmodel.Underlying(x).(*dwarfmodel.Struct); ok {
			ms := members(s, 0)
			lt.Members = &ms
		}
	default:
		lt.Name = t.TypeName()
	}
	if lt.Name == "" {
		lt.Name = asked
	}
	return lt
}

// members lists s's members; depth bounds anonymous nesting.
func members(s *dwarfmodel.Struct, depth int) []layoutMember {
	out := []layoutMember{}
	for i := range s.Members {
		m := &s.Members[i]
		lm := layoutMember{
			Name:   m.Name,
			Offset: m.ByteOffset,
			Size:   m.Type.Size(),
			Type:   dwarfmodel.Declare(m.Type, ""),
		}
		if m.IsBitfield() {
			bs, dbo := m.BitSize, m.DataBitOffset
			lm.BitSize, lm.DataBitOffset = &bs, &dbo
		}
		if m.Anonymous() && depth < 32 {
			ms := members(dwarfmodel.Underlying(m.Type).(*dwarfmodel.Struct), depth+1)
			lm.Members = &ms
		}
		out = append(out, lm)
	}
	return out
}

func printLayout(w io.Writer, asked string, t dwarfmodel.Type) {
	switch x := t.(type) {
	case *dwarfmodel.Struct:
		printAggregate(w, x.Kind.String()+" "+x.Name, x)
	case *dwarfmodel.Enum:
		fmt.Fprintf(w, "enum %s {\n", x.Name)
		for _, v := range x.Values {
			fmt.Fprintf(w, "\t%s = %d,\n", v.Name, v.Value)
		}
		fmt.Fprintf(w, "};\t/* size: %d */\n", x.Size())
	case *dwarfmodel.Typedef:
		if s, ok := dwarfmodel.Underlying(x).(*dwarfmodel.Struct); ok {
			fmt.Fprintf(w, "/* typedef %s */\n", dwarfmodel.Declare(x.Type, x.Name))
			printAggregate(w, s.Kind.String()+" "+s.Name, s)
			return
		}
		fmt.Fprintf(w, "%s;\t/* size: %d */\n", "typedef "+dwarfmodel.Declare(x.Type, x.Name), x.Size())
	default:
		n := t.TypeName()
		if n == "" {
			n = asked
		}
		fmt.Fprintf(w, "%s\t/* %s, size: %d */\n", n, kindName(t), t.Size())
	}
}

func printAggregate(w io.Writer, head string, s *dwarfmodel.Struct) {
	fmt.Fprintf(w, "%s {\n", strings.TrimRight(head, " "))
	holes := printMembers(w, s, 1, 0)
	fmt.Fprintf(w, "\n\t/* size: %d, members: %d", s.Size(), len(s.Members))
	if holes > 0 {
		fmt.Fprintf(w, ", holes: %d", holes)
	}
	fmt.Fprintf(w, " */\n};\n")
}

// hole prints a pahole-style comment for the gap between the end of the
// previous member and the start of the next one (in bits); it reports
// whether there was a gap.
func hole(w io.Writer, tabs string, end, start int64) bool {
	gap := start - end
	switch {
	case gap <= 0:
		return false
	case gap%8 == 0:
		fmt.Fprintf(w, "%s/* XXX %d byte(s) hole */\n", tabs, gap/8)
	default:
		fmt.Fprintf(w, "%s/* XXX %d bit(s) hole */\n", tabs, gap)
	}
	return true
}

// printMembers prints s's members at indent; base is the offset of s from
// the outermost aggregate: comments show offsets from there, as pahole's do.
func printMembers(w io.Writer, s *dwarfmodel.Struct, indent int, base int64) (holes int) {
	tabs := strings.Repeat("\t", indent)
	var end int64 // bits: the end of the members so far (structs only)
	for i := range s.Members {
		m := &s.Members[i]
		if s.Kind != dwarfmodel.KindUnion {
			start, n := m.ByteOffset*8, m.Type.Size()*8
			if m.IsBitfield() {
				start, n = m.DataBitOffset, m.BitSize
			}
			if hole(w, tabs, end, start) {
				holes++
			}
			if n < 0 {
				n = 0 // flexible array: it starts here and has no size
			}
			if start+n > end {
				end = start + n
			}
		}
		if m.Anonymous() && indent < 32 {
			in := dwarfmodel.Underlying(m.Type).(*dwarfmodel.Struct)
			fmt.Fprintf(w, "%s%s {\n", tabs, in.Kind)
			holes += printMembers(w, in, indent+1, base+m.ByteOffset)
			line := tabs + "};"
			fmt.Fprintf(w, "%s%s/* %6d %6d */\n", line, pad(line, 48), base+m.ByteOffset, m.Type.Size())
			continue
		}
		line := tabs + dwarfmodel.Declare(m.Type, m.Name)
		if m.IsBitfield() {
			line += fmt.Sprintf(":%d;", m.BitSize)
			fmt.Fprintf(w, "%s%s/* %6d %6d: bit %d */\n", line, pad(line, 48), base+m.ByteOffset, m.Type.Size(), base*8+m.DataBitOffset)
			continue
		}
		line += ";"
		fmt.Fprintf(w, "%s%s/* %6d %6d */\n", line, pad(line, 48), base+m.ByteOffset, m.Type.Size())
	}
	if s.Kind != dwarfmodel.KindUnion && s.Size() > 0 && s.Size()*8 > end {
		if pad := s.Size()*8 - end; pad%8 == 0 {
			fmt.Fprintf(w, "%s/* padding: %d */\n", tabs, pad/8)
		} else {
			fmt.Fprintf(w, "%s/* padding: %d bit(s) */\n", tabs, pad)
		}
	}
	return holes
}

func pad(s string, col int) string {
	n := len(strings.ReplaceAll(s, "\t", "        "))
	if n >= col {
		return " "
	}
	return strings.Repeat(" ", col-n)
}
