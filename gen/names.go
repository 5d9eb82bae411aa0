package gen

import (
	"strconv"
	"strings"
	"unicode"
)

// initialisms are the C name parts spelled in upper case in Go names
// (uts_id -> UtsID), as Go's own style does for ID, CPU, IO and the like.
// The list is short on purpose: pid stays Pid and mm stays Mm.
var initialisms = map[string]string{
	"id":   "ID",
	"uid":  "UID",
	"gid":  "GID",
	"cpu":  "CPU",
	"tty":  "TTY",
	"io":   "IO",
	"irq":  "IRQ",
	"rcu":  "RCU",
	"ip":   "IP",
	"tcp":  "TCP",
	"udp":  "UDP",
	"url":  "URL",
	"uuid": "UUID",
}

// GoName turns a C identifier into an exported Go identifier: task_struct
// becomes TaskStruct, __state becomes State, PIDTYPE_PID becomes PidtypePid.
// The result is never empty and never starts with a digit. Different C
// names may give the same Go name; callers resolve that with a namer.
func GoName(c string) string {
	var b strings.Builder
	for _, part := range strings.Split(c, "_") {
		if part == "" {
			continue
		}
		if s, ok := initialisms[strings.ToLower(part)]; ok {
			b.WriteString(s)
			continue
		}
		rs := []rune(part)
		allUpper := true
		for _, r := range rs {
			if unicode.IsLower(r) {
				allUpper = false
				break
			}
		}
		b.WriteRune(unicode.ToUpper(rs[0]))
		for _, r := range rs[1:] {
			if allUpper {
				r = unicode.ToLower(r)
			}
			b.WriteRune(r)
		}
	}
	s := sanitize(b.String())
	if s == "" || !unicode.IsLetter([]rune(s)[0]) {
		s = "X" + s
	}
	return s
}

// sanitize drops runes that cannot appear in a Go identifier (C++ or
// compiler-made names such as "<lambda>" or "foo.1").
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return -1
	}, s)
}

// namer hands out identifiers unique within one Go namespace. A name
// already taken gets the first free suffix _2, _3, ... so that the outcome
// depends only on the order of claims, which callers keep deterministic.
type namer struct{ used map[string]bool }

func newNamer(reserved ...string) *namer {
	n := &namer{used: map[string]bool{}}
	for _, r := range reserved {
		n.used[r] = true
	}
	return n
}

// claimOr claims base, or alt when base is taken (then alt_2, ...).
func (n *namer) claimOr(base, alt string) string {
	if !n.used[base] {
		n.used[base] = true
		return base
	}
	return n.claim(alt)
}

func (n *namer) claim(base string) string {
	if !n.used[base] {
		n.used[base] = true
		return base
	}
	for i := 2; ; i++ {
		s := base + "_" + strconv.Itoa(i)
		if !n.used[s] {
			n.used[s] = true
			return s
		}
	}
}
