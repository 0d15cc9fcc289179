// Package storetest is the conformance suite every model.Store passes: the
// directory target and the Postgres target must behave the same.
package storetest
