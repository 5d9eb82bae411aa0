package dwarfmodel

import (
	"bufio"
	"encoding/gob"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// DefaultCacheDir is where kvmgen keeps index caches: $XDG_CACHE_HOME/kvmgen,
// else $HOME/.cache/kvmgen ("" when neither is known).
func DefaultCacheDir() string {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "kvmgen")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".cache", "kvmgen")
	}
	return ""
}

// indexCacheVersion changes whenever the cached data's meaning does.
const indexCacheVersion = 1

// cachedIndex is what an index cache file holds (gob-encoded).
type cachedIndex struct {
	Version  int
	BuildID  string
	FileSize int64
	InfoSize int64
	Units    []cachedUnit
	Names    [nsCount][]string
	Offsets  [nsCount][]uint64 // entries (with declBit), parallel to Names
}

type cachedUnit struct {
	Off, End, DieOff            uint64
	Version                     uint16
	UnitType, AddrSize, OffSize uint8
	AbbrevOff, StrBase          uint64
	AddrBase, Sig, TypeOff      uint64
}

// cachePath is the cache file of this input, or "" when it cannot have
// one: no cache directory, or no GNU build ID to key it by.
func (f *File) cachePath() string {
	if f.opts.CacheDir == "" || f.size < 0 || f.infoMem != nil {
		return ""
	}
	id := f.noteBuildID()
	if id == "" {
		return ""
	}
	return filepath.Join(f.opts.CacheDir, "dwarfmodel-index-"+id+".gob")
}

// loadIndexCache fills the units and the index from the cache file; false
// when there is none or it does not match this file (it is then rebuilt).
func (f *File) loadIndexCache() bool {
	path := f.cachePath()
	if path == "" {
		return false
	}
	fh, err := os.Open(path)
	if err != nil {
		return false
	}
	defer fh.Close()
	now := time.Now()
	os.Chtimes(path, now, now) // its last use, for pruneIndexCache
	var c cachedIndex
	if err := gob.NewDecoder(bufio.NewReader(fh)).Decode(&c); err != nil {
		return false
	}
	if c.Version != indexCacheVersion || c.BuildID != f.noteBuildID() || c.FileSize != f.size || c.InfoSize != f.infoSize {
		return false
	}
	// Check what decoding relies on, so that a damaged cache is a miss.
	units := make([]*unit, 0, len(c.Units))
	prev := uint64(0)
	for _, cu := range c.Units {
		u := &unit{off: cu.Off, end: cu.End, dieOff: cu.DieOff, version: cu.Version, unitType: cu.UnitType,
			addrSize: cu.AddrSize, offSize: cu.OffSize, abbrevOff: cu.AbbrevOff, strBase: cu.StrBase,
			addrBase: cu.AddrBase, sig: cu.Sig, typeOff: cu.TypeOff, bigEndian: f.dm.BigEndian()}
		if u.off != prev || u.dieOff <= u.off || u.dieOff > u.end || u.end > uint64(f.infoSize) ||
			(u.offSize != 4 && u.offSize != 8) || (u.addrSize != 1 && u.addrSize != 2 && u.addrSize != 4 && u.addrSize != 8) {
			return false
		}
		prev = u.end
		units = append(units, u)
	}
	if prev != uint64(f.infoSize) {
		return false
	}
	idx := newIndex()
	for ns := range c.Names {
		if len(c.Names[ns]) != len(c.Offsets[ns]) {
			return false
		}
		for i, name := range c.Names[ns] {
			e := c.Offsets[ns][i]
			if e&^declBit >= uint64(f.infoSize) {
				return false
			}
			idx.ns[ns][name] = e
		}
	}
	f.units = units
	for _, u := range units {
		if u.unitType == 0x02 || u.unitType == 0x06 {
			if f.sigs == nil {
				f.sigs = map[uint64]uint64{}
			}
			if _, dup := f.sigs[u.sig]; !dup && u.typeOff < u.end-u.off {
				f.sigs[u.sig] = u.off + u.typeOff
			}
		}
	}
	f.idx = idx
	return true
}

// saveIndexCache writes the cache file, atomically; it is best effort.
func (f *File) saveIndexCache() error {
	path := f.cachePath()
	if path == "" {
		return nil
	}
	c := cachedIndex{Version: indexCacheVersion, BuildID: f.noteBuildID(), FileSize: f.size, InfoSize: f.infoSize}
	for _, u := range f.units {
		c.Units = append(c.Units, cachedUnit{u.off, u.end, u.dieOff, u.version, u.unitType, u.addrSize, u.offSize,
			u.abbrevOff, u.strBase, u.addrBase, u.sig, u.typeOff})
	}
	for ns := range f.idx.ns {
		names := make([]string, 0, len(f.idx.ns[ns]))
		for name := range f.idx.ns[ns] {
			names = append(names, name)
		}
		sort.Strings(names) // a deterministic file
		c.Names[ns] = names
		c.Offsets[ns] = make([]uint64, len(names))
		for i, name := range names {
			c.Offsets[ns][i] = f.idx.ns[ns][name]
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".dwarfmodel-index-*")
	if err != nil {
		return err
	}
	w := bufio.NewWriter(tmp)
	err = gob.NewEncoder(w).Encode(&c)
	if err == nil {
		err = w.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing index cache %s: %w", path, err)
	}
	pruneIndexCache(filepath.Dir(path), MaxIndexCacheBytes)
	return nil
}

// MaxIndexCacheBytes bounds the index files kept in a cache directory:
// about 40 kernels' worth (the 590 MB Debian vmlinux's index is 6 MB).
var MaxIndexCacheBytes int64 = 256 << 20

// pruneIndexCache removes the least recently used index files of dir
// until those left take at most max bytes. A file's use is its
// modification time: loadIndexCache touches the files it reads.
func pruneIndexCache(dir string, max int64) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	type entry struct {
		path string
		size int64
		used int64
	}
	var es []entry
	var total int64
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), "dwarfmodel-index-") || !strings.HasSuffix(e.Name(), ".gob") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		es = append(es, entry{filepath.Join(dir, e.Name()), info.Size(), info.ModTime().UnixNano()})
		total += info.Size()
	}
	sort.Slice(es, func(i, j int) bool { return es[i].used < es[j].used })
	for _, e := range es {
		if total <= max {
			break
		}
		if os.Remove(e.path) == nil {
			total -= e.size
		}
	}
}
