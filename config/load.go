package config

import (
	"os"
	"strings"
	"time"
)

// Options control how a configuration is read.
type Options struct {
	// NodeID selects @NAME conditional lines and is ${_INSTANCE}. Empty
	// means DefaultNodeID(), keepalived's default.
	NodeID string
	// Strict turns every warning into an error.
	Strict bool
	// RandomSeed seeds ${_RANDOM}; zero uses the time, as keepalived does
	// unless global_defs random_seed is set.
	RandomSeed uint64
	// ReadFile reads a file; nil means os.ReadFile.
	ReadFile func(path string) ([]byte, error)
}

// DefaultNodeID is keepalived's default config id: the host name up to
// its first dot.
func DefaultNodeID() string {
	h, err := os.Hostname()
	if err != nil {
		return ""
	}
	short, _, _ := strings.Cut(h, ".")
	return short
}

// Load reads the configuration file at path, with its includes. The model
// is returned even when there are errors (it holds what could be read);
// callers must check Diagnostics.HasErrors or Diagnostics.Err.
func Load(path string, opts Options) (*Config, Diagnostics) {
	return load(opts, func(p *preprocessor) { p.file(path, Pos{}) })
}

// Parse reads a configuration from src; name is used in positions and as
// the base for relative includes.
func Parse(name string, src []byte, opts Options) (*Config, Diagnostics) {
	return load(opts, func(p *preprocessor) {
		abs := name
		if a, err := absPath(name); err == nil {
			abs = a
		}
		p.text(name, abs, src)
	})
}

func load(opts Options, read func(*preprocessor)) (*Config, Diagnostics) {
	if opts.NodeID == "" {
		opts.NodeID = DefaultNodeID()
	}
	seed := opts.RandomSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	sink := &diagSink{strict: opts.Strict}
	p := newPreprocessor(sink, opts.NodeID, opts.ReadFile, seed)
	read(p)
	nodes := buildTree(p.out, sink)
	cfg := &Config{Files: p.files}
	d := &decoder{sink: sink, cfg: cfg}
	d.top(nodes)
	d.applyDefaults()
	validate(cfg, sink)
	return cfg, sink.list
}
