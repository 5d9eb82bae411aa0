package truth

import (
	"strings"
)

type variant = Variant

var variants = Variants

// layoutVariants are the builds whose layout is checked: all of them.
var layoutVariants = append(append([]Variant(nil), Variants...), LayoutOnly...)

// The aggregates and enums of truth.c whose layout is checked.
var (
	aggregates = []string{
		"struct ints", "struct flags", "struct packed_bits", "struct point",
		"union value", "struct shape", "struct arrays", "struct flex", "struct node", "struct exotic",
	}
	enums = []string{"enum color", "enum delta", "enum wide", "enum tiny"}
	// globals of truth.c
	globals = []string{"g_head", "g_count", "g_delta", "g_banner", "g_ints", "g_flex"}
)

func tags(names []string) []string {
	var out []string
	for _, n := range names {
		_, tag, _ := strings.Cut(n, " ")
		out = append(out, tag)
	}
	return out
}
