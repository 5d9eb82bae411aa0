//go:build !race

package freebsd

const raceEnabled = false
