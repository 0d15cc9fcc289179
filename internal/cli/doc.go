// Package cli is the grantmirror command line: it parses flags, environment and the
// config file into one Config, validates it, and calls the library. No rule of what
// "can see" means lives here.
package cli
