package node

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/tandem-ha/tandem/config"
)

// knownNodeIDs returns this node, every raft server and every confirmed
// member: the IDs a config must be valid for.
func (n *Node) knownNodeIDs() []string {
	ids := map[string]bool{n.id: true}
	if cf := n.raft.GetConfiguration(); cf.Error() == nil {
		for _, s := range cf.Configuration().Servers {
			ids[string(s.ID)] = true
		}
	}
	for _, id := range n.members.ids() {
		ids[id] = true
	}
	out := make([]string, 0, len(ids))
	for id := range ids {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// parse reads a config text as node id sees it.
func (n *Node) parse(name, text, id string) (*config.Config, config.Diagnostics) {
	return config.Parse(name, []byte(text), config.Options{NodeID: id, ReadFile: refuseIncludes})
}

// nodeDependent reports whether text may read differently per node ID:
// only @NAME conditional lines and ${_INSTANCE} depend on it.
func nodeDependent(text string) bool {
	return strings.Contains(text, "@") || strings.Contains(text, "_INSTANCE")
}

func refuseIncludes(path string) ([]byte, error) {
	return nil, fmt.Errorf("a cluster configuration must be self-contained (the other nodes do not have %s): send config.Bundle's text, as tandem ctl apply does", path)
}

// validate parses and renders text for every known node ID, so a
// conditional @node line that breaks one node is refused before commit.
func (n *Node) validate(name, text string) error {
	ids := n.knownNodeIDs()
	if !nodeDependent(text) {
		// Every node reads the same: parse once (a 1,000-virtual-server
		// config takes a few hundred milliseconds).
		ids = ids[:1]
	}
	type outcome struct {
		errs config.Diagnostics
	}
	results := make([]outcome, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cfg, diags := n.parse(name, text, id)
			if !diags.HasErrors() {
				_ = config.Render(cfg)
				if id == n.id || !nodeDependent(text) {
					n.parsed.put(text, cfg)
				}
			}
			results[i] = outcome{errs: diags.Errors()}
		}()
	}
	wg.Wait()
	// One line per distinct problem, naming the nodes it affects unless it
	// affects all of them.
	byDiag := map[string][]string{}
	var order []string
	for i, r := range results {
		for _, d := range r.errs {
			s := d.String()
			if _, seen := byDiag[s]; !seen {
				order = append(order, s)
			}
			byDiag[s] = append(byDiag[s], ids[i])
		}
	}
	if len(order) == 0 {
		return nil
	}
	var lines []string
	var broken []string
	for _, s := range order {
		nodes := byDiag[s]
		if len(nodes) < len(ids) {
			s += " (node " + strings.Join(nodes, ", ") + ")"
		}
		lines = append(lines, s)
		for _, id := range nodes {
			if !slices.Contains(broken, id) {
				broken = append(broken, id)
			}
		}
	}
	slices.Sort(broken)
	who := "node(s) " + strings.Join(broken, ", ")
	if len(broken) == len(ids) {
		who = "every node"
	}
	return &APIError{Status: http.StatusUnprocessableEntity, Code: CodeInvalidConfig, Field: "text",
		Message:     fmt.Sprintf("configuration refused, nothing committed: %d error(s) for %s", len(lines), who),
		Diagnostics: lines}
}

// parseCache keeps the leader's last validated config for its own node ID,
// so applying the committed text does not parse it a second time (half a
// second of CPU for a 1,000-virtual-server config).
type parseCache struct {
	mu  sync.Mutex
	sum string
	cfg *config.Config
}

func (c *parseCache) put(text string, cfg *config.Config) {
	sum := sha256Hex(text)
	c.mu.Lock()
	c.sum, c.cfg = sum, cfg
	c.mu.Unlock()
}

// take returns and forgets the config parsed from the text hashing to sum.
func (c *parseCache) take(sum string) *config.Config {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sum != sum || c.cfg == nil {
		return nil
	}
	cfg := c.cfg
	c.sum, c.cfg = "", nil
	return cfg
}
