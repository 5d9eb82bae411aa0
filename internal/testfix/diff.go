package testfix

// LineDiff is a line where two texts differ: its number (from 1) and each
// text's line there ("" past a text's end).
type LineDiff struct {
	Line      int
	Want, Got string
}

// DiffLines compares want and got line by line and returns the lines
// where they differ, in order.
func DiffLines(want, got []string) []LineDiff {
	var out []LineDiff
	for i := 0; i < len(want) || i < len(got); i++ {
		var w, g string
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w != g {
			out = append(out, LineDiff{i + 1, w, g})
		}
	}
	return out
}
