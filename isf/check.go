package isf

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
)

// Summary is what Check found in an ISF document.
type Summary struct {
	Format                               string
	BaseTypes, UserTypes, Enums, Symbols int
	TypedSymbols                         int
	Banner                               []byte // linux_banner's constant_data, decoded
	// Dangling lists the struct, union and enum names that descriptors
	// refer to and the document does not define (declarations with no
	// definition: dwarf2json leaves them out too), sorted.
	Dangling []string
}

// Check reads an ISF document and checks it against the rules in
// docs/isf.md: the required fields and the allowed values of Volatility
// 3's schema 6.2.0 (and 6.3.0's stricter producer), and what Volatility's
// loader needs beyond the schema (a "void" and a "pointer" base type, the
// base types of enums and bitfields defined, the types of anonymous
// members defined). It holds the whole document in memory: it is meant
// for tests and for checking a file once.
func Check(r io.Reader) (*Summary, error) {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	c := &checker{doc: doc, refs: map[string]bool{}}
	sum, err := c.check()
	if err != nil {
		return nil, err
	}
	return sum, nil
}

type checker struct {
	doc              map[string]any
	base, user, enum map[string]any
	refs             map[string]bool // "struct x", "enum y"
}

var (
	formatRE   = regexp.MustCompile(`^6\.[0-9]+\.[0-9]+$`)
	versionRE  = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)
	hexRE      = regexp.MustCompile(`^[a-fA-F0-9]+$`)
	nixKindRE  = regexp.MustCompile(`^(dwarf|symtab|system-map)$`)
	baseKindRE = regexp.MustCompile(`^(void|int|float|char|bool)$`)
)

func object(v any, where string) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: not an object", where)
	}
	return m, nil
}

// keys checks that m has the required keys and no others than allowed.
func keys(m map[string]any, where string, required []string, optional ...string) error {
	for _, k := range required {
		if _, ok := m[k]; !ok {
			return fmt.Errorf("%s: no %q", where, k)
		}
	}
	for k := range m {
		ok := false
		for _, a := range append(append([]string(nil), required...), optional...) {
			ok = ok || a == k
		}
		if !ok {
			return fmt.Errorf("%s: unexpected %q", where, k)
		}
	}
	return nil
}

func isInt(v any) bool {
	n, ok := v.(json.Number)
	if !ok {
		return false
	}
	_, err := n.Int64()
	if err != nil {
		// an unsigned 64-bit value
		var u uint64
		_, err = fmt.Sscan(n.String(), &u)
	}
	return err == nil
}

func isString(v any) bool { _, ok := v.(string); return ok }

func (c *checker) check() (*Summary, error) {
	if err := keys(c.doc, "document", []string{"metadata", "base_types", "user_types", "enums", "symbols"}); err != nil {
		return nil, err
	}
	s := &Summary{}
	md, err := object(c.doc["metadata"], "metadata")
	if err != nil {
		return nil, err
	}
	if err := c.metadata(md, s); err != nil {
		return nil, err
	}
	if c.base, err = object(c.doc["base_types"], "base_types"); err != nil {
		return nil, err
	}
	if c.user, err = object(c.doc["user_types"], "user_types"); err != nil {
		return nil, err
	}
	if c.enum, err = object(c.doc["enums"], "enums"); err != nil {
		return nil, err
	}
	syms, err := object(c.doc["symbols"], "symbols")
	if err != nil {
		return nil, err
	}
	for _, need := range []string{"void", "pointer"} {
		if _, ok := c.base[need]; !ok {
			return nil, fmt.Errorf("base_types: no %q (Volatility's loader needs it)", need)
		}
	}
	for name, v := range c.base {
		where := "base_types." + name
		b, err := object(v, where)
		if err != nil {
			return nil, err
		}
		if err := keys(b, where, []string{"size", "kind", "signed", "endian"}); err != nil {
			return nil, err
		}
		if !isInt(b["size"]) {
			return nil, fmt.Errorf("%s: size is not an integer", where)
		}
		if k, _ := b["kind"].(string); !baseKindRE.MatchString(k) {
			return nil, fmt.Errorf("%s: kind %v", where, b["kind"])
		}
		if _, ok := b["signed"].(bool); !ok {
			return nil, fmt.Errorf("%s: signed is not a boolean", where)
		}
		if e, _ := b["endian"].(string); e != "little" && e != "big" {
			return nil, fmt.Errorf("%s: endian %v", where, b["endian"])
		}
	}
	for name, v := range c.user {
		where := "user_types." + name
		u, err := object(v, where)
		if err != nil {
			return nil, err
		}
		if err := keys(u, where, []string{"kind", "size", "fields"}); err != nil {
			return nil, err
		}
		if k, _ := u["kind"].(string); k != "struct" && k != "union" && k != "class" {
			return nil, fmt.Errorf("%s: kind %v", where, u["kind"])
		}
		if !isInt(u["size"]) {
			return nil, fmt.Errorf("%s: size is not an integer", where)
		}
		fields, err := object(u["fields"], where+".fields")
		if err != nil {
			return nil, err
		}
		for fname, fv := range fields {
			fw := where + "." + fname
			f, err := object(fv, fw)
			if err != nil {
				return nil, err
			}
			if err := keys(f, fw, []string{"type", "offset"}, "anonymous"); err != nil {
				return nil, err
			}
			if !isInt(f["offset"]) {
				return nil, fmt.Errorf("%s: offset is not an integer", fw)
			}
			if err := c.descriptor(f["type"], fw+".type", true); err != nil {
				return nil, err
			}
			if a, ok := f["anonymous"]; ok {
				if a != true && a != false {
					return nil, fmt.Errorf("%s: anonymous is not a boolean", fw)
				}
				if a == true {
					// Volatility's loader looks the member's type up in
					// user_types by name.
					t := f["type"].(map[string]any)
					n, _ := t["name"].(string)
					if _, ok := c.user[n]; !ok {
						return nil, fmt.Errorf("%s: anonymous member of type %v not in user_types", fw, t)
					}
				}
			}
		}
	}
	for name, v := range c.enum {
		where := "enums." + name
		e, err := object(v, where)
		if err != nil {
			return nil, err
		}
		if err := keys(e, where, []string{"size", "base", "constants"}); err != nil {
			return nil, err
		}
		if !isInt(e["size"]) {
			return nil, fmt.Errorf("%s: size is not an integer", where)
		}
		bn, _ := e["base"].(string)
		if _, ok := c.base[bn]; !ok {
			return nil, fmt.Errorf("%s: base %v is not in base_types", where, e["base"])
		}
		cs, err := object(e["constants"], where+".constants")
		if err != nil {
			return nil, err
		}
		for cn, cv := range cs {
			if !isInt(cv) {
				return nil, fmt.Errorf("%s.constants.%s: not an integer", where, cn)
			}
		}
	}
	for name, v := range syms {
		where := "symbols." + name
		sy, err := object(v, where)
		if err != nil {
			return nil, err
		}
		if err := keys(sy, where, []string{"address"}, "linkage_name", "type", "constant_data"); err != nil {
			return nil, err
		}
		if _, ok := sy["address"].(json.Number); !ok {
			return nil, fmt.Errorf("%s: address is not a number", where)
		}
		if t, ok := sy["type"]; ok {
			if err := c.descriptor(t, where+".type", false); err != nil {
				return nil, err
			}
			if tm, _ := t.(map[string]any); tm["kind"] != "base" || tm["name"] != "void" {
				s.TypedSymbols++
			}
		}
		if cd, ok := sy["constant_data"]; ok {
			str, _ := cd.(string)
			b, err := base64.StdEncoding.DecodeString(str)
			if err != nil {
				return nil, fmt.Errorf("%s: constant_data is not base64: %v", where, err)
			}
			if name == "linux_banner" {
				if !bytes.HasPrefix(b, []byte("Linux version ")) || !bytes.HasSuffix(b, []byte{0}) {
					return nil, fmt.Errorf("%s: constant_data %q is not a NUL-terminated \"Linux version ...\"", where, b)
				}
				s.Banner = b
			}
		}
	}
	for r := range c.refs {
		kind, name, _ := strings.Cut(r, " ")
		var ok bool
		if kind == "enum" {
			_, ok = c.enum[name]
		} else {
			_, ok = c.user[name]
		}
		if !ok {
			if strings.HasPrefix(name, "unnamed_") {
				return nil, fmt.Errorf("anonymous type %s referred to and not defined", r)
			}
			s.Dangling = append(s.Dangling, r)
		}
	}
	sort.Strings(s.Dangling)
	s.BaseTypes, s.UserTypes, s.Enums, s.Symbols = len(c.base), len(c.user), len(c.enum), len(syms)
	return s, nil
}

func (c *checker) metadata(md map[string]any, s *Summary) error {
	if err := keys(md, "metadata", []string{"format", "producer"}, "linux"); err != nil {
		return err
	}
	f, _ := md["format"].(string)
	if !formatRE.MatchString(f) {
		return fmt.Errorf("metadata.format %v: not 6.x.y", md["format"])
	}
	s.Format = f
	p, err := object(md["producer"], "metadata.producer")
	if err != nil {
		return err
	}
	for _, k := range []string{"name", "version"} {
		if !isString(p[k]) {
			return fmt.Errorf("metadata.producer: no %s string", k)
		}
	}
	if v := p["version"].(string); !versionRE.MatchString(v) {
		return fmt.Errorf("metadata.producer.version %q: not x.y.z", v)
	}
	if l, ok := md["linux"]; ok {
		lm, err := object(l, "metadata.linux")
		if err != nil {
			return err
		}
		if err := keys(lm, "metadata.linux", nil, "symbols", "types"); err != nil {
			return err
		}
		for k, v := range lm {
			items, ok := v.([]any)
			if !ok {
				return fmt.Errorf("metadata.linux.%s: not an array", k)
			}
			for i, it := range items {
				where := fmt.Sprintf("metadata.linux.%s[%d]", k, i)
				m, err := object(it, where)
				if err != nil {
					return err
				}
				if err := keys(m, where, nil, "kind", "name", "hash_type", "hash_value"); err != nil {
					return err
				}
				if kd, ok := m["kind"]; ok && !nixKindRE.MatchString(fmt.Sprint(kd)) {
					return fmt.Errorf("%s: kind %v is not dwarf, symtab or system-map", where, kd)
				}
				if ht, ok := m["hash_type"]; ok && ht != "sha256" {
					return fmt.Errorf("%s: hash_type %v", where, ht)
				}
				if hv, ok := m["hash_value"]; ok && !hexRE.MatchString(fmt.Sprint(hv)) {
					return fmt.Errorf("%s: hash_value %v is not hex", where, hv)
				}
			}
		}
	}
	return nil
}

// descriptor checks a type descriptor; bitfield says whether a bitfield
// may appear here (a field's type, not a subtype).
func (c *checker) descriptor(v any, where string, bitfield bool) error {
	d, err := object(v, where)
	if err != nil {
		return err
	}
	kind, _ := d["kind"].(string)
	switch kind {
	case "pointer":
		if err := keys(d, where, []string{"kind", "subtype"}, "base"); err != nil {
			return err
		}
		return c.descriptor(d["subtype"], where+".subtype", false)
	case "base":
		if err := keys(d, where, []string{"kind", "name"}); err != nil {
			return err
		}
		n, _ := d["name"].(string)
		if _, ok := c.base[n]; !ok {
			return fmt.Errorf("%s: base type %v not in base_types", where, d["name"])
		}
	case "array":
		if err := keys(d, where, []string{"kind", "subtype", "count"}); err != nil {
			return err
		}
		if !isInt(d["count"]) {
			return fmt.Errorf("%s: count is not an integer", where)
		}
		return c.descriptor(d["subtype"], where+".subtype", false)
	case "struct", "union", "class", "enum":
		if err := keys(d, where, []string{"kind", "name"}); err != nil {
			return err
		}
		n, ok := d["name"].(string)
		if !ok {
			return fmt.Errorf("%s: name is not a string", where)
		}
		if kind != "enum" {
			kind = "struct"
		}
		c.refs[kind+" "+n] = true
	case "function":
		return keys(d, where, []string{"kind"})
	case "bitfield":
		if !bitfield {
			return fmt.Errorf("%s: a bitfield where only a field's type may be one", where)
		}
		if err := keys(d, where, []string{"kind", "bit_position", "bit_length", "type"}); err != nil {
			return err
		}
		if !isInt(d["bit_position"]) || !isInt(d["bit_length"]) {
			return fmt.Errorf("%s: bit_position or bit_length is not an integer", where)
		}
		t, err := object(d["type"], where+".type")
		if err != nil {
			return err
		}
		if t["kind"] != "base" && t["kind"] != "enum" {
			return fmt.Errorf("%s.type: kind %v (a bitfield's type is a base type or an enum)", where, t["kind"])
		}
		return c.descriptor(t, where+".type", false)
	default:
		return fmt.Errorf("%s: kind %v", where, d["kind"])
	}
	return nil
}
