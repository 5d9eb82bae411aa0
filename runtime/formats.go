package kvm

// dumpFormat is one corefile format kvmgen can open. Open inspects ctx.File and
// returns a Dump, or an error wrapping ErrNotMine (a *NotMineError) when the
// content is not of its format, so that the next format is tried. Any other
// error stops the search: the file is of this format but damaged.
type dumpFormat struct {
	Name string
	Open func(ctx *openContext) (coreDump, error)
}

// formats is the ordered list of content-detected corefile formats, tried in
// turn by OpenDump: the first whose Open does not answer ErrNotMine owns the
// file. A new format goes here, in its place: FreeBSD's dumps first (a
// FreeBSD full dump is also an ELF core, and its own reader knows it), then
// ELF cores and vmcores (QEMU, kdump's /proc/vmcore, /proc/kcore, process
// cores), then kdump-compressed files (their own magic). Formats that accept
// any content (a raw physical memory image) are in lastResortFormats, tried
// after these.
var formats = []dumpFormat{
	{Name: freebsdFormat, Open: openFreeBSD},
	{Name: "ELF core", Open: openELFCore},
	{Name: "kdump-compressed", Open: openKdump},
}

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

// lastResortFormats are tried, in order, when no format in formats claims
// the file.
var lastResortFormats = []dumpFormat{
	{Name: "raw physical memory", Open: openRaw},
}
