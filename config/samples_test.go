package config

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// samplesDir is keepalived's own sample corpus, beside the project in
// ../shared; tests that read it skip when it is absent.
const samplesDir = "../../shared/keepalived-samples"

// roundTripFiles are keepalived's samples (when present) and tandem's own
// valid testdata.
func roundTripFiles(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(samplesDir, "keepalived.conf.*"))
	if len(files) == 0 {
		t.Logf("keepalived sample corpus not found at %s: checking tandem's testdata only", samplesDir)
	}
	own, _ := filepath.Glob("testdata/valid/*.conf")
	return append(append(files, own...), "testdata/include/main.conf")
}

// nodeIDsFor returns the node ids a sample is meant to be run with.
func nodeIDsFor(path string) []string {
	if filepath.Base(path) == "keepalived.conf.conditional_conf" {
		return []string{"default-node", "high", "low"}
	}
	return []string{"default-node"}
}

func modelJSON(t *testing.T, c *Config) string {
	t.Helper()
	b, err := json.MarshalIndent(c, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRoundTrip parses every sample and testdata file with no error, and
// checks that parse -> render -> parse gives the same model.
func TestRoundTrip(t *testing.T) {
	for _, f := range roundTripFiles(t) {
		for _, id := range nodeIDsFor(f) {
			t.Run(filepath.Base(f)+"@"+id, func(t *testing.T) {
				c, diags := Load(f, Options{NodeID: id, RandomSeed: 1})
				if diags.HasErrors() {
					t.Fatalf("errors:\n%s", diags.Errors())
				}
				for _, w := range diags.Warnings() {
					t.Logf("%s", w)
				}
				rendered := Render(c)
				c2, diags2 := Parse("rendered.conf", []byte(rendered), Options{NodeID: id, RandomSeed: 1})
				if diags2.HasErrors() {
					t.Fatalf("rendered config has errors:\n%s\n%s", diags2.Errors(), rendered)
				}
				if a, b := modelJSON(t, c), modelJSON(t, c2); a != b {
					dir := t.TempDir()
					_ = os.WriteFile(filepath.Join(dir, "a.json"), []byte(a), 0o644)
					_ = os.WriteFile(filepath.Join(dir, "b.json"), []byte(b), 0o644)
					t.Fatalf("round trip changed the model (diff %s/a.json %s/b.json); rendered:\n%s", dir, dir, rendered)
				}
			})
		}
	}
}
