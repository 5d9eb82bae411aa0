package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
)

// jsonFlag adds -json: machine-readable output, documented per command.
func jsonFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("json", false, "print JSON instead of text (one object per line for lists)")
}

// writeJSON writes v as one line of JSON.
func writeJSON(w io.Writer, v any) error {
	return json.NewEncoder(w).Encode(v)
}

// hexAddr is an address in JSON: a "0x..." string, since JSON numbers
// lose precision above 2^53 in many readers.
type hexAddr uint64

func (a hexAddr) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf("\"%#x\"", uint64(a))), nil
}

func init() {
	register(command{
		name:  "version",
		usage: "version [-json]: kvmgen's version, from the build information",
		run:   runVersion,
	})
}

// versionInfo is what `kvmgen version -json` prints.
type versionInfo struct {
	Module   string `json:"module"`
	Version  string `json:"version"`
	Go       string `json:"go"`
	Revision string `json:"vcs_revision,omitempty"`
	Time     string `json:"vcs_time,omitempty"`
	Modified bool   `json:"vcs_modified,omitempty"`
}

func buildVersion() versionInfo {
	v := versionInfo{Module: "github.com/kvmgen/kvmgen", Version: "(unknown)"}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	v.Go = bi.GoVersion
	if bi.Main.Path != "" {
		v.Module = bi.Main.Path
	}
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

func runVersion(stdout io.Writer, args []string) error {
	fs := newFlagSet("version", "version [-json]")
	asJSON := jsonFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	v := buildVersion()
	if *asJSON {
		return writeJSON(stdout, v)
	}
	s := "kvmgen " + v.Version + " (" + v.Module + ", " + v.Go
	if v.Revision != "" {
		s += ", " + v.Revision
		if v.Modified {
			s += "+modified"
		}
	}
	_, err := io.WriteString(stdout, s+")\n")
	return err
}
