// Package lvs turns virtual_server configuration and real-server health
// verdicts into the kernel's IPVS table.
//
// It has two layers. The Pool is pure logic: from the configuration model,
// the current health verdicts and the set of local addresses it computes
// the desired Table with keepalived's semantics (weights and dynamic
// weights, inhibit_on_failure, quorum with hysteresis, sorry servers,
// alpha, omega, virtual_server_group expansion, ha_suspend) and the Events
// (notify_up/notify_down, quorum_up/quorum_down) the caller runs. The
// Reconciler compares a desired Table with what a Handle (the kernel, or a
// fake in unit tests) holds and applies the fewest operations that make
// them equal, adopting a matching table at start-up so that a restart
// drops no connection, and verifying every write by reading it back.
//
// OpenKernel returns the Handle backed by github.com/moby/ipvs; it refuses
// to work on a kernel without IPVS rather than silently doing nothing.
//
// # Wiring
//
// An agent runs, in this order:
//
//	h, err := lvs.OpenKernel("")            // ErrNoIPVS without ip_vs
//	err = lvs.Setup(h, &cfg.Global)          // lvs_flush, lvs_timeouts
//	pool := lvs.NewPool(cfg, lvs.PoolOptions{InitNotifies: cfg.Global.RSInitNotifies})
//	rec := lvs.NewReconciler(h, logger)
//	go rec.Run(ctx, 30*time.Second)          // periodic read-back and repair
//
// then, at start and on every checker event, address change or reload
// (pool.Reload(cfg) first):
//
//	table, events, err := pool.Update(health, isLocal)
//	_, err = rec.Apply(table)                // err lists each failed operation
//	// run e.Script of each event (the pool runs nothing)
//
// health holds one State per real server that has checkers, keyed with
// ParseRealServerKey(ev.VirtualServer, ev.RealServer) from the checks
// engine's events, Up and Weight (the effective weight) copied from the
// event; a real server without a verdict is in its initial state. isLocal
// reports the addresses configured on the node (for ha_suspend). On
// shutdown: run pool.Shutdown()'s events (omega), then rec.Release()
// unless --dont-release-ipvs.
package lvs
