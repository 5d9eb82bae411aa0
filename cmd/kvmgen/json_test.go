package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kvmgen/kvmgen/internal/testfix"
)

// decodeLines decodes each line of out as one JSON object.
func decodeLines(t *testing.T, what, out string) []map[string]any {
	t.Helper()
	var objs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%s -json: %v in %q", what, err, line)
		}
		objs = append(objs, m)
	}
	return objs
}

// TestJSONOutputs: every command's -json output decodes, and says what
// its text says.
func TestJSONOutputs(t *testing.T) {
	t.Setenv("KVMGEN_KERNEL", "")
	vml := testfix.Path(t, "linux-amd64/vmlinux")
	core := testfix.Path(t, "linux-amd64/dumps/paging.vmcore")

	out, err := runOut(t, "info", "-json", "-core", core)
	if err != nil {
		t.Fatal(err)
	}
	info := decodeLines(t, "info", out)[0]
	if info["architecture"] != "x86_64" || !strings.HasPrefix(info["symbols"].(string), "kallsyms in the dump") || info["os_release"] == "" {
		t.Errorf("info -json: %v", info)
	}

	text, _ := runOut(t, "ps", "-no-layout-cache", "-core", core)
	out, err = runOut(t, "ps", "-json", "-no-layout-cache", "-core", core)
	if err != nil {
		t.Fatal(err)
	}
	rows := decodeLines(t, "ps", out)
	if len(rows) != strings.Count(text, "\n")-1 || len(rows) < 40 {
		t.Errorf("ps -json: %d rows, text %d", len(rows), strings.Count(text, "\n")-1)
	}
	withArgv := 0
	for _, r := range rows {
		if _, ok := r["argv"]; ok {
			withArgv++
		}
	}
	if withArgv < 5 {
		t.Errorf("ps -json: only %d rows with argv", withArgv)
	}

	for _, c := range [][]string{
		{"nlist", "-json", "-core", core, "init_task", "jiffies_64"},
		{"nlist", "-json", "-kernel", vml, "init_task", "jiffies_64"},
	} {
		out, err = runOut(t, c...)
		if err != nil {
			t.Fatal(err)
		}
		ns := decodeLines(t, "nlist", out)
		if len(ns) != 2 || ns[0]["name"] != "init_task" || !strings.HasPrefix(ns[0]["value"].(string), "0xffffffff") {
			t.Errorf("%v: %v", c, ns)
		}
	}

	out, err = runOut(t, "uptime", "-json", "-core", core)
	if err != nil {
		t.Fatal(err)
	}
	up := decodeLines(t, "uptime", out)[0]
	if la, ok := up["load_average"].([]any); !ok || len(la) != 3 || up["uptime_seconds"].(float64) <= 0 {
		t.Errorf("uptime -json: %v", up)
	}

	out, err = runOut(t, "swapinfo", "-json", "-core", core)
	if err != nil {
		t.Fatal(err)
	}
	if sw := decodeLines(t, "swapinfo", out); sw[0]["name"] != "/dev/vda" || sw[0]["type"] != "partition" {
		t.Errorf("swapinfo -json: %v", sw)
	}

	out, err = runOut(t, "read", "-json", "-core", core, "init_uts_ns", "5")
	if err != nil {
		t.Fatal(err)
	}
	if r := decodeLines(t, "read", out)[0]; r["hex"] != "4c696e7578" { // "Linux"
		t.Errorf("read -json: %v", r)
	}

	out, err = runOut(t, "version", "-json")
	if err != nil {
		t.Fatal(err)
	}
	if v := decodeLines(t, "version", out)[0]; v["module"] != "github.com/kvmgen/kvmgen" || v["go"] == "" {
		t.Errorf("version -json: %v", v)
	}

	out, err = runOut(t, "layout", "-json", "-core", core, "list_head")
	if err != nil {
		t.Fatal(err)
	}
	var lt []map[string]any
	if err := json.Unmarshal([]byte(out), &lt); err != nil || len(lt) != 1 || lt[0]["size"].(float64) != 16 {
		t.Errorf("layout -json: %v %v", lt, err)
	}
}
