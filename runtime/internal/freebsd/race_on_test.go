//go:build race

package freebsd

// raceEnabled: the race detector slows the damage tests tenfold; they
// then take a sample.
const raceEnabled = true
