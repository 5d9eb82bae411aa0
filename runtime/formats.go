package runtime

// Format is one corefile format kvmgen can open. Open inspects ctx.File and
// returns a Dump, or an error wrapping ErrNotMine (a *NotMineError) when the
// content is not of its format, so that the next format is tried. Any other
// error stops the search: the file is of this format but damaged.
type Format struct {
	Name string
	Open func(ctx *OpenContext) (Dump, error)
}

// formats is the ordered list of content-detected corefile formats, tried in
// turn by Open2. Formats kept in other files (format_freebsd.go) append
// theirs from an init function. Formats that accept any content (a raw
// physical memory image) are not in this list: they are tried after it.
var formats []Format

// Formats returns the names of the corefile formats tried, in order.
func Formats() []string {
	var names []string
	for _, f := range formats {
		names = append(names, f.Name)
	}
	for _, f := range lastResortFormats {
		names = append(names, f.Name)
	}
	return names
}

// lastResortFormats are tried when no format in formats claims the file.
var lastResortFormats []Format
