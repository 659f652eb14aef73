// Package addrbook is the peer manager's pure core: the address book (bucketed like Bitcoin
// Core's addrman: a tried table of peers this node connected to and a new table of addresses heard
// of, by the network group of their source), last-seen times, dial failures with backoff, bans,
// and the token bucket that paces dials. It does no I/O and reads no clock: time is an argument,
// and the changes to persist are collected and taken in batches (Pending, TakeChanges) by the
// peer manager (package actors), which writes them through the storage actor.
package addrbook
