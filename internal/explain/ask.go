package explain

import (
	"context"
	"fmt"
	"time"

	"github.com/grantmirror/grantmirror/internal/ident"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// Source is what check and explain read: the read layer of a target, its local
// grants, and the caller's config, which is compared with the settings a
// generation recorded but applied only to a generation that recorded none.
type Source struct {
	Reader model.Reader
	// Local lists a person's local grants in force at a moment (zero: now, as the
	// access view counts them); nil when the target keeps none.
	Local func(ctx context.Context, email string, at time.Time) ([]LocalGrant, error)
	// Config is the caller's configuration.
	Config Config
}

// Config is the part of the caller's configuration that shapes a generation.
type Config struct {
	Mode     model.Mode
	Roles    model.RoleMode
	Settings model.Settings
	// Explicit reports whether the caller set a key (in a file, the environment
	// or a flag) rather than taking its default; nil means every key is set.
	Explicit func(key string) bool
}

// Normalizer is the email mapping answers about generation meta use: the one it
// recorded, or the caller's for a generation published before settings were
// recorded.
func (c Config) Normalizer(meta model.Meta) *ident.Normalizer {
	if meta.Settings != nil {
		return ident.NewNormalizer(meta.Settings.Aliases())
	}
	return ident.NewNormalizer(c.Settings.Aliases())
}

// Notes says how an answer about meta relates to the caller's config: which
// settings differ from those that built the generation, or that the generation
// recorded none and the caller's email mapping was used.
func (c Config) Notes(meta model.Meta) []string {
	var notes []string
	if meta.Settings == nil {
		notes = append(notes, fmt.Sprintf("generation %d did not record the settings it was built with; emails are mapped with your config's email aliases", meta.Generation))
	}
	if d := meta.Differences(c.Mode, c.Roles, c.Settings, c.Explicit); len(d) > 0 {
		notes = append(notes, model.DifferenceNote(meta, d))
	}
	return notes
}

// Decision is the access decision for one question: the rows of the mirror
// that give it and the local grants in force that do. Check and explain both
// decide with Decide, so they cannot disagree.
type Decision struct {
	Rows  []model.Row
	Local []LocalGrant
}

// Allowed reports whether anything gives the access.
func (d Decision) Allowed() bool { return len(d.Rows) > 0 || len(d.Local) > 0 }

// Decide finds, in a generation (or the slice of it about q's person and
// object), the rows that answer q, and among local the grants that do. An empty
// q.Privilege matches every privilege on the object.
func Decide(m *model.Mirror, q Query, local []LocalGrant) Decision {
	var d Decision
	for _, a := range m.Meta.Accounts {
		if q.Account != "" && a.Name != q.Account {
			continue
		}
		for r := range m.Access.For(a.Name, q.Email) {
			if r.ObjectName == q.Object && (q.Privilege == "" || r.Privilege == q.Privilege) {
				d.Rows = append(d.Rows, r)
			}
		}
	}
	for _, g := range local {
		if g.Email == q.Email && g.ObjectName == q.Object &&
			(q.Privilege == "" || g.Privilege == q.Privilege) && (q.Account == "" || g.Account == q.Account) {
			d.Local = append(d.Local, g)
		}
	}
	return d
}

// focus is the slice a question about q's person and object reads: only the
// person's rows on the object, since who else can reach it is no part of the
// answer, and on a popular object it is most of what a slice reads.
func (q Query) focus() model.Focus {
	return model.Focus{Email: q.Email, Objects: []string{q.Object}, NoAudience: true}
}

// slice reads the part of generation n that q needs (without the snapshot, or
// with only the person's own users, as how says), mapping q.Email (trimmed and
// lower-cased as typed) the way that generation maps addresses. A generation
// that recorded no settings is read whole, so that why-not can find a user the
// sync filed under another address.
func (s Source) slice(ctx context.Context, n int, q *Query, how model.Focus) (*model.Mirror, error) {
	f := q.focus()
	f.NoSnapshot, f.OwnUsers = how.NoSnapshot, how.OwnUsers
	m, err := s.Reader.Slice(ctx, n, f)
	if err != nil {
		return nil, err
	}
	// Later reads name the generation this one found, so that a publish in
	// between cannot mix two generations into one answer.
	n = m.Meta.Generation
	email, _ := s.Config.Normalizer(m.Meta).Email(q.Email)
	switch {
	case m.Meta.Settings == nil:
		q.Email = email
		return s.Reader.Slice(ctx, n, model.Focus{})
	case email != q.Email:
		q.Email = email
		f.Email = email
		return s.Reader.Slice(ctx, n, f)
	}
	return m, nil
}

// Check is the access decision for the current generation, local grants in
// force included, as guarded reads make it: q.Privilege must be set.
//
// A privilege nobody has is a *privilege.UnknownError; a denial for an address
// no user has, near addresses users do, an *UnknownEmailError.
func Check(ctx context.Context, s Source, q Query) (bool, error) {
	// The rows, memberships and grants decide; the snapshot (every user of
	// every account) is read only when the answer is no for an address that
	// holds nothing, to name it if it is a typo.
	m, err := s.slice(ctx, 0, &q, model.Focus{NoSnapshot: true})
	if err != nil {
		return false, err
	}
	if err := CheckPrivilege(m, q); err != nil {
		return false, err
	}
	var local []LocalGrant
	if d := Decide(m, q, nil); !d.Allowed() && s.Local != nil {
		if local, err = s.Local(ctx, q.Email, time.Time{}); err != nil {
			return false, err
		}
	}
	if !Decide(m, q, local).Allowed() {
		if holder(m, q.Email) {
			// A person the mirror knows: no typo to name.
			return false, nil
		}
		if m.Snapshot == nil {
			// The generation the first read found, so a publish in between
			// cannot mix two generations into one answer.
			if m, err = s.Reader.Slice(ctx, m.Meta.Generation, q.focus()); err != nil {
				return false, err
			}
		}
		return false, CheckEmail(m, s.Config.Normalizer(m.Meta), q.Email)
	}
	return true, nil
}

// Ask explains q from generation n of the target (0: the current one, the only
// one local grants count for). It reads the slice of the generation about q's
// person and object, and the names of the objects granted only when it must
// suggest one. It refuses the typos Check does, with the same errors.
func Ask(ctx context.Context, s Source, n int, q Query) (*Answer, error) {
	// The person's own users answer a yes (their sessions) and a no for a
	// person Snowflake knows (their disabled users, revoked roles, the roles
	// their sessions leave out). Only an address no user is filed under sends
	// why-not through every user, for the same address under another domain
	// and the addresses a typo away, so only then is the slice read again with
	// all of them.
	m, err := s.slice(ctx, n, &q, model.Focus{OwnUsers: true})
	if err != nil {
		return nil, err
	}
	if m.Meta.Settings != nil && len(Decide(m, q, nil).Rows) == 0 && !filedUnder(m, s.Config.Normalizer(m.Meta), q.Email, q.Account) {
		if m, err = s.Reader.Slice(ctx, m.Meta.Generation, q.focus()); err != nil {
			return nil, err
		}
	}
	if err := CheckPrivilege(m, q); err != nil {
		return nil, err
	}
	var local []LocalGrant
	if n == 0 && s.Local != nil {
		if local, err = s.Local(ctx, q.Email, time.Time{}); err != nil {
			return nil, err
		}
	}
	ix := newIndex(m)
	var namesErr error
	ix.names = func(account string) []string {
		names, err := s.Reader.ObjectNames(ctx, m.Meta.Generation, account)
		if err != nil && namesErr == nil {
			namesErr = err
		}
		return names
	}
	norm := s.Config.Normalizer(m.Meta)
	ans := explain(ix, m, q, norm, local)
	if !ans.Allowed {
		if err := CheckEmail(m, norm, q.Email); err != nil {
			return nil, err
		}
	}
	ans.Notes = s.Config.Notes(m.Meta)
	return ans, namesErr
}

// AskMirror explains q from a whole mirror that no generation number names: the
// access table as it stood at a past moment. local are the grants in force then.
// It refuses the typos Ask does.
func AskMirror(m *model.Mirror, q Query, c Config, local []LocalGrant) (*Answer, error) {
	norm := c.Normalizer(m.Meta)
	q.Email, _ = norm.Email(q.Email)
	if err := CheckPrivilege(m, q); err != nil {
		return nil, err
	}
	ans := explain(newIndex(m), m, q, norm, local)
	if !ans.Allowed {
		if err := CheckEmail(m, norm, q.Email); err != nil {
			return nil, err
		}
	}
	ans.Notes = c.Notes(m.Meta)
	return ans, nil
}
