// Package metrics records what sync runs did as Prometheus metrics: served on
// /metrics in daemon mode, or pushed to a Pushgateway when a one-shot sync ends.
package metrics
