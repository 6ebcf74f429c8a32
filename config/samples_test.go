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

func sampleFiles(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(samplesDir, "keepalived.conf.*"))
	if len(files) == 0 {
		t.Skipf("keepalived sample corpus not found at %s", samplesDir)
	}
	return files
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

func TestSamplesParseWithoutErrors(t *testing.T) {
	for _, f := range sampleFiles(t) {
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
					os.WriteFile("/tmp/a.json", []byte(a), 0o644)
					os.WriteFile("/tmp/b.json", []byte(b), 0o644)
					t.Fatalf("round trip changed the model (see /tmp/a.json /tmp/b.json); rendered:\n%s", rendered)
				}
			})
		}
	}
}
