// Package tally holds the domain of a self-hosted server for Tencent Cloud
// Chat's group counter API: apps, groups, counters, the Tencent error codes and
// the storage contract that every backend meets.
//
// The package has no dependencies beyond the standard library. Transports and
// storage engines live in their own packages (httpapi, pebble) and depend on
// this one, never the other way round; cmd/tally wires them together.
package tally
