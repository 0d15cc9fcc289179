package model

import "context"

type advanceKey struct{}

// Advance reports, from a Source's Load or a Store's Publish called by Run,
// that n more records were read or rows written. It costs a context lookup and
// does nothing when no Counter listens.
func Advance(ctx context.Context, n int) {
	if add, ok := ctx.Value(advanceKey{}).(func(int)); ok {
		add(n)
	}
}

// WithAdvance is ctx with Advance passed on to add: how a sync counts what its
// source reads and its store writes.
func WithAdvance(ctx context.Context, add func(n int)) context.Context {
	return context.WithValue(ctx, advanceKey{}, add)
}
