package node

import (
	"context"
	"time"
)

// Leave leaves the cluster gracefully and stops the node: it removes
// itself from raft (through the leader) so the others' quorum shrinks with
// it, tells gossip it left, and closes. Subsystems keep running whatever
// they run; the caller decides whether to stop them.
func (n *Node) Leave(ctx context.Context) error {
	n.log.Info("leaving the cluster")
	// Gossip first, so the leader does not add us back meanwhile.
	if n.ml != nil {
		if err := n.ml.Leave(5 * time.Second); err != nil {
			n.log.Warn("leave: gossip", "err", err)
		}
	}
	if peers, err := n.Peers(); err == nil && len(peers) > 1 {
		if err := n.RemovePeer(ctx, n.id); err != nil {
			n.log.Warn("leave: could not remove this node from raft; the leader removes it once gossip reports it left", "err", err)
		}
	}
	return n.Close()
}
