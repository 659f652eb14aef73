// Package config is the node's configuration: the typed Config, its defaults, validation, and
// loading from node.yaml plus ACTORCHAIN_* environment variables. It is the only package that
// imports viper; every other package receives a Config (or part of it) and never reads files or
// the environment for settings.
//
// One key table (keys.go) defines every key: its path, its field in Config, its description
// and its check. Load, Validate, Write, Keys, the environment mapping and docs/config.md are
// all driven by it, so a key is either fully supported or not at all.
//
// # Usage
//
//	cfg, err := config.Load(home, configFlag, os.Environ())
//	var cerr *config.Error
//	if errors.As(err, &cerr) {
//		// "config: p2p.max_inbound: must be >= 0, got -1": exit code 2
//	}
//
// Load keeps the three sources in one viper instance and lets viper's precedence pick each
// key's value: the defaults (SetDefault from Default), the file (configFlag, or HOME/node.yaml
// if it exists; read by viper, merged as its config layer) and the environment given to Load
// (bound key by key as viper's override layer: viper itself reads only the process
// environment, and a devnet loads its homes without the caller's variables). Each value is
// decoded by its key's type, not by viper's lenient casts; then Load normalises, validates and
// resolves relative paths against HOME.
// Unknown keys in the file and ACTORCHAIN_* variables that name no key are errors: a typo
// never silently falls back to a default. Write produces a commented file holding every key
// that Load reads back to the same Config; LoadChain reads only the chain section of another
// node's file, for `node init --chain FILE`.
//
// # Errors
//
// Every configuration problem is an *Error whose Key names the key path (with an index or
// address for list and map elements), the unknown path or variable, or the file; its Env names
// the variable the bad value came from. Write returns I/O failures as ordinary wrapped errors.
//
// # Concurrency
//
// The package has no mutable global state: Load, LoadChain, Write and the functions on Config
// may be called from any goroutine (each Load uses its own viper instance). A Config is a plain
// value; Clone gives an independent copy, since Validators, Alloc and Seeds are shared by a
// plain struct copy.
package config
