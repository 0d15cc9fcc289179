package report

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/grantmirror/grantmirror/internal/ident"
	"github.com/grantmirror/grantmirror/pipeline"
)

// Source is where Generate reads a generation: a target's read layer.
type Source struct {
	Reader pipeline.Reader
	// Generation is the generation to report on; 0 means the current one.
	Generation int
	// Normalizer maps the filtered emails the way a generation maps addresses
	// (the aliases it was built with).
	Normalizer func(pipeline.Meta) *ident.Normalizer
}

// noOne is an address no person has (a published email always has a local part
// and a domain): the slice about it is a generation's meta, exclusions and small
// snapshot tables, without rows. It must be text every store can compare, so no
// NUL byte, which Postgres refuses.
const noOne = "@"

// Generate writes the report o asks for, reading no more of the generation
// than the report needs: the full access view in CSV or JSON streams from the
// store row by row; a report on some people (--by user or access) reads their
// slices; every other report reads the generation whole. o.Emails are
// trimmed, lower-cased addresses; Generate maps them with the generation's
// aliases.
func Generate(ctx context.Context, w io.Writer, src Source, o Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	r, n := src.Reader, src.Generation
	switch {
	case o.By == ByAccess && (o.Format == CSV || o.Format == JSON) && !o.filtered():
		head, err := r.Slice(ctx, n, pipeline.Focus{Email: noOne})
		if err != nil {
			return err
		}
		md := newModel(head, o)
		md.scan = func(fn func(pipeline.Row) error) error { return r.Scan(ctx, head.Meta.Generation, fn) }
		return write(w, md)
	case len(o.Emails) > 0 && (o.By == ByAccess || o.By == ByUser):
		m, err := people(ctx, src, &o)
		if err != nil {
			return err
		}
		return write(w, newModel(m, o))
	}
	m, err := r.Slice(ctx, n, pipeline.Focus{})
	if err != nil {
		return err
	}
	o.Emails = mapEmails(src.Normalizer(m.Meta), o.Emails)
	return write(w, newModel(m, o))
}

// people reads the slices of the people o.Emails names, mapped with the
// generation's aliases, and merges them into one mirror.
func people(ctx context.Context, src Source, o *Options) (*pipeline.Mirror, error) {
	firstEmail := o.Emails[0]
	first, err := src.Reader.Slice(ctx, src.Generation, pipeline.Focus{Email: firstEmail})
	if err != nil {
		return nil, err
	}
	// Later slices name the generation the first found, so a publish in between
	// cannot mix two generations into one report.
	n := first.Meta.Generation
	o.Emails = mapEmails(src.Normalizer(first.Meta), o.Emails)
	var parts []*pipeline.Mirror
	for i, e := range o.Emails {
		if i == 0 && e == firstEmail {
			parts = append(parts, first)
			continue
		}
		m, err := src.Reader.Slice(ctx, n, pipeline.Focus{Email: e})
		if err != nil {
			return nil, err
		}
		parts = append(parts, m)
	}
	return merge(parts), nil
}

// mapEmails maps addresses with norm, keeping their order, without repeats.
func mapEmails(norm *ident.Normalizer, emails []string) []string {
	var out []string
	for _, e := range emails {
		m, _ := norm.Email(e)
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// merge joins slices of one generation: the union of their rows, memberships,
// grants and access history, with the meta, exclusions and snapshot tables
// every slice shares.
func merge(parts []*pipeline.Mirror) *pipeline.Mirror {
	if len(parts) == 1 {
		return parts[0]
	}
	out := *parts[0]
	var rows []pipeline.Row
	seen := map[string]bool{}
	out.Memberships, out.Grants = nil, nil
	var snap *pipeline.Snapshot
	if parts[0].Snapshot != nil {
		snap = &pipeline.Snapshot{}
		for _, a := range parts[0].Snapshot.Accounts {
			b := *a
			b.History = nil
			snap.Accounts = append(snap.Accounts, &b)
		}
	}
	once := func(kind string, v any) bool {
		k := kind + fmt.Sprintf("%+v", v)
		if seen[k] {
			return false
		}
		seen[k] = true
		return true
	}
	for _, p := range parts {
		for r := range p.Access.All() {
			rows = append(rows, r)
		}
		for _, ms := range p.Memberships {
			if once("m", ms) {
				out.Memberships = append(out.Memberships, ms)
			}
		}
		for _, g := range p.Grants {
			if once("g", g) {
				out.Grants = append(out.Grants, g)
			}
		}
		if snap != nil && p.Snapshot != nil {
			for i, a := range p.Snapshot.Accounts {
				for _, h := range a.History {
					if once("h"+a.Name, h) {
						snap.Accounts[i].History = append(snap.Accounts[i].History, h)
					}
				}
			}
		}
	}
	out.Access = pipeline.NewAccess(rows)
	out.Snapshot = snap
	return &out
}
