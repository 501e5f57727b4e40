// Package failover is udrbd's failover agent: it watches DRBD 8.4 resources
// through `drbdsetup events2` and promotes this node, and starts the
// resource's service on it, only when that cannot promote stale data or
// make a second Primary; it stops the service and demotes again when the
// resource stops being Primary under it or the agent exits.
//
// The agent plays the part drbd-reactor's promoter plugin plays for DRBD 9
// (its configuration names are reused where they mean the same thing), but
// DRBD 8.4 has no quorum and no may_promote flag, so the decision to
// promote is the agent's own: see [Decide] for the rules and
// docs/failover.md for the whole story.
//
// # Layers
//
//   - [ParseLine] turns one events2 line into an [Event]; [View.Apply]
//     folds events into a per-resource view. Both are pure.
//   - [ParseShowFencing] reads the fencing policy out of `drbdsetup show`.
//   - [Decide] is a pure function of the view and the configuration.
//   - [Agent] runs the events2 child (restarting it with a back-off), one
//     controller goroutine per resource, and every action through a
//     [System], which tests replace with a fake.
//
// It imports only udrbd/drbd (for the fencing policy names) from the
// project; nothing imports it but cmd/udrbd-failover.
package failover
