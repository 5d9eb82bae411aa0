package dwarfmodel

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrNoDWARF is wrapped by the error Open returns for an ELF file that has
// no DWARF type information (no .debug_info section).
var ErrNoDWARF = errors.New("no DWARF debugging information")

// FormatError reports malformed input: the file, the section and the offset
// in that section where decoding failed, and what was expected there.
type FormatError struct {
	File    string // "" when the input was not opened by name
	Section string // ".debug_info", ".debug_abbrev", "ELF header", ...
	Offset  int64  // offset in Section
	Msg     string
}

func (e *FormatError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if e.Section != "" {
		fmt.Fprintf(&b, "%s+%#x: ", e.Section, e.Offset)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// NotFoundError is returned by Type and Variable for a name that is not in
// the index. Suggestions holds close names (sorted, at most 8).
type NotFoundError struct {
	File        string
	Kind        string // "type" or "variable"
	Name        string
	Suggestions []string
}

func (e *NotFoundError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	kind := e.Kind
	if kind == "" {
		kind = "type"
	}
	fmt.Fprintf(&b, "%s %q not found", kind, e.Name)
	if len(e.Suggestions) > 0 {
		b.WriteString("; did you mean ")
		for i, s := range e.Suggestions {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%q", s)
		}
		b.WriteString("?")
	}
	return b.String()
}

// maxSuggestions bounds NotFoundError.Suggestions.
const maxSuggestions = 8

// suggest returns up to maxSuggestions names of all close to name: equal
// ignoring case or a "struct "/"union "/"enum " prefix, sharing a prefix,
// containing it, or within a small edit distance. Best first, ties sorted.
func suggest(name string, all []string) []string {
	type cand struct {
		s     string
		score int
	}
	bare := stripTag(name)
	lname := strings.ToLower(bare)
	maxDist := 1 + len(bare)/4
	if maxDist > 3 {
		maxDist = 3
	}
	var cs []cand
	for _, s := range all {
		sb := stripTag(s)
		ls := strings.ToLower(sb)
		score := -1
		switch {
		case ls == lname:
			score = 0
		case len(lname) >= 2 && strings.HasPrefix(ls, lname):
			score = 8 + min(len(ls)-len(lname), 40)/4
		case len(lname) >= 4 && strings.Contains(ls, lname):
			score = 20 + min(len(ls)-len(lname), 40)/4
		default:
			if d := len(ls) - len(lname); d <= maxDist && d >= -maxDist {
				if dist := editDistance(ls, lname, maxDist); dist <= maxDist {
					score = 2 + 4*dist
				}
			}
		}
		if score >= 0 && s != sb && strings.HasPrefix(name, s[:len(s)-len(sb)]) {
			score-- // the same kind of name as asked ("struct ...")
		}
		if score >= 0 {
			cs = append(cs, cand{s, score})
		}
	}
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].score != cs[j].score {
			return cs[i].score < cs[j].score
		}
		return cs[i].s < cs[j].s
	})
	if len(cs) > maxSuggestions {
		cs = cs[:maxSuggestions]
	}
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.s
	}
	sort.Strings(out)
	return out
}

func stripTag(s string) string {
	for _, p := range []string{"struct ", "union ", "enum ", "class "} {
		if strings.HasPrefix(s, p) {
			return s[len(p):]
		}
	}
	return s
}

// editDistance is the Levenshtein distance of a and b, or limit+1 when it
// exceeds limit.
func editDistance(a, b string, limit int) int {
	if len(a) > 64 || len(b) > 64 {
		return limit + 1
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			if prev[j]+1 < c {
				c = prev[j] + 1
			}
			if cur[j-1]+1 < c {
				c = cur[j-1] + 1
			}
			cur[j] = c
			if c < rowMin {
				rowMin = c
			}
		}
		if rowMin > limit {
			return limit + 1
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
