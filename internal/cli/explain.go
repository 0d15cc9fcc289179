package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/grantmirror/grantmirror/internal/explain"
	"github.com/grantmirror/grantmirror/internal/ident"
	"github.com/grantmirror/grantmirror/internal/privilege"
	"github.com/grantmirror/grantmirror/pipeline/model"
	"github.com/grantmirror/grantmirror/pipeline/pgstore"
)

func explainCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "explain",
		Usage:     "show why a person can (or cannot) use an object",
		ArgsUsage: "EMAIL OBJECT [PRIVILEGE]",
		Description: `Prints every role path from the person's Snowflake users to the grants on OBJECT,
with the USAGE on its database and schema that made it reachable; when denied, the
nearest misses. OBJECT is matched like Snowflake resolves names: unquoted parts are
case-insensitive, "quoted" parts exact. Exit 0 when allowed, 1 when denied.

On a Postgres target, local grants in force count too, each shown with who granted
and approved it, until when and why (see grantmirror grant).

--at answers as of a past moment, judged by publish time: what grantmirror served
then (the generation current at that moment), not what Snowflake said then; the
answer prints when that generation's snapshot was taken. A Postgres target answers from its access history
for as long as it keeps it (history_days), with role paths while the generation then
current is still kept and without them after; a directory target answers only from
the generations it keeps.

Examples:
   grantmirror explain alice@example.com sales.public.orders SELECT
   grantmirror explain alice@example.com 'SALES."My Schema".MV' --format json
   grantmirror explain bob@example.com SALES.PUBLIC.ORDERS --format dot | dot -Tsvg > why.svg
   grantmirror explain bob@example.com SALES.PUBLIC.ORDERS SELECT --at 2026-03-03T12:00:00Z`,
		Flags: targetFlags(
			formatFlag("text", "text", "json", "dot", "mermaid"),
			&cli.StringFlag{Name: "account", Usage: "only this account"},
			&cli.IntFlag{Name: "generation", Usage: "read this kept generation instead of the current one", DefaultText: "current"},
			atFlag(),
		),
		Action: e.action(func(c *cli.Context) error {
			q, err := e.query(c)
			if err != nil {
				return err
			}
			write := explainWriters[c.String("format")]
			if write == nil {
				return usageErr("format %q: want text, json, dot or mermaid", c.String("format"))
			}
			at, err := atTime(c)
			if err != nil {
				return err
			}
			if !at.IsZero() && c.IsSet("generation") {
				return usageErr("--at and --generation each choose a generation: give one of them")
			}
			s, err := e.openStore()
			if err != nil {
				return err
			}
			defer s.Close()
			ans, err := e.explainAt(s, q, c.Int("generation"), at)
			if err != nil {
				return typo(e.noGeneration(err))
			}
			if err := write(e, ans); err != nil {
				return err
			}
			if !ans.Allowed {
				return findings
			}
			return nil
		}),
	}
}

// explainSource is the read side of an open store for check and explain: its
// read layer, its local grants (a Postgres target's) and the caller's config.
func (e *env) explainSource(s model.Store) explain.Source {
	src := explain.Source{Reader: model.ReaderOf(s), Config: e.cfg.caller()}
	if ps, ok := s.(*pgstore.Store); ok {
		src.Local = func(ctx context.Context, email string, at time.Time) ([]explain.LocalGrant, error) {
			grants, err := ps.GrantsFor(ctx, email, at)
			return explainGrants(grants), err
		}
	}
	return src
}

// explainAt answers q from generation n (0: current), or as of at when set.
// A target with an access history answers a past moment from it, whole, with
// the local grants in force then; any other from the kept generation that was
// current then.
func (e *env) explainAt(s model.Store, q explain.Query, n int, at time.Time) (*explain.Answer, error) {
	src := e.explainSource(s)
	if at.IsZero() {
		return explain.Ask(e.ctx, src, n, q)
	}
	if h, ok := s.(historian); ok {
		m, withPaths, err := h.MirrorAt(e.ctx, at)
		if err != nil {
			return nil, err
		}
		var local []explain.LocalGrant
		if src.Local != nil {
			email, _ := src.Config.Normalizer(m.Meta).Email(q.Email)
			if local, err = src.Local(e.ctx, email, at); err != nil {
				return nil, err
			}
		}
		ans, err := explain.AskMirror(m, q, src.Config, local)
		if err != nil {
			return nil, err
		}
		ans.At, ans.NoPaths = at, !withPaths
		return ans, nil
	}
	g, err := e.generationAt(s, at)
	if err != nil {
		return nil, err
	}
	// Local grants count only for the current generation; a past moment on a
	// target without history has none to count.
	src.Local = nil
	ans, err := explain.Ask(e.ctx, src, g, q)
	if err != nil {
		return nil, err
	}
	ans.At = at
	return ans, nil
}

// typo turns explain's refusal of a privilege or an email nobody has into the
// usage mistake it is (exit 2), said with the nearest name.
func typo(err error) error {
	var priv *privilege.UnknownError
	var email *explain.UnknownEmailError
	if errors.As(err, &priv) || errors.As(err, &email) {
		return usageErr("%v", err)
	}
	return err
}

// noGeneration adds what to do to an empty target's error.
func (e *env) noGeneration(err error) error {
	if errors.Is(err, model.ErrNoGeneration) && !strings.Contains(err.Error(), "grantmirror sync") {
		return fmt.Errorf("%s: %w; run grantmirror sync first", model.RedactDSN(e.cfg.Target), err)
	}
	return err
}

// query parses EMAIL OBJECT [PRIVILEGE] the way the mirror spells them. The
// email is only trimmed and lower-cased: the generation asked maps it with the
// aliases it was built with.
func (e *env) query(c *cli.Context) (explain.Query, error) {
	args := c.Args().Slice()
	if len(args) < 2 || len(args) > 3 {
		return explain.Query{}, usageErr("want EMAIL OBJECT [PRIVILEGE], got %d arguments (see grantmirror %s --help)", len(args), c.Command.Name)
	}
	email := ident.NormalizeEmail(args[0])
	object, err := ident.Canonical(args[1])
	if err != nil {
		return explain.Query{}, usageErr("object: %v", err)
	}
	q := explain.Query{Email: email, Object: object, Account: c.String("account")}
	if len(args) == 3 {
		q.Privilege = ident.Privilege(args[2])
	}
	return q, nil
}

// atFlag asks for an answer as of a past moment.
func atFlag() cli.Flag {
	return &cli.StringFlag{Name: "at", Usage: "answer as the mirror stood at this moment, by publish time (the generation readers were served then, whatever its snapshot's age): RFC 3339 (2026-03-03T12:00:00Z), a date (midnight UTC), or a duration ago (72h, 7d)"}
}

// atTime reads --at; zero when it is not given.
func atTime(c *cli.Context) (time.Time, error) {
	if !c.IsSet("at") {
		return time.Time{}, nil
	}
	t, err := parseMoment(c.String("at"), time.Now())
	if err != nil {
		return time.Time{}, usageErr("--at %v", err)
	}
	return t, nil
}

// timeLayouts are the absolute times people type, most precise first; those
// without a zone are UTC.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"}

// parseTime reads an absolute moment.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q: want RFC 3339 (2026-03-03T12:00:00Z) or a date (2026-03-03)", s)
}

// parseMoment reads an absolute moment, or a duration before now (72h, 7d).
func parseMoment(s string, now time.Time) (time.Time, error) {
	t, err := parseTime(s)
	if err == nil {
		return t, nil
	}
	if d, derr := parseDuration(s); derr == nil && d > 0 {
		return now.Add(-d).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q: want RFC 3339 (2026-03-03T12:00:00Z), a date (2026-03-03) or a duration ago (72h, 7d)", s)
}

// open reads a kept generation (0: the current one) of an open store.
func (e *env) open(s model.Store, n int) (*model.Mirror, error) {
	m, err := s.Open(e.ctx, n)
	if errors.Is(err, model.ErrNoGeneration) {
		return nil, fmt.Errorf("%s: %w; run grantmirror sync first", model.RedactDSN(e.cfg.Target), err)
	}
	return m, err
}

// historian is a target that keeps the access history: Postgres.
type historian interface {
	MirrorAt(ctx context.Context, t time.Time) (*model.Mirror, bool, error)
}

// mirrorAt reads the mirror as it stood at t. A target with an access history
// answers from it; any other answers with the kept generation published last at
// or before t, and refuses a moment before the oldest one it keeps. withPaths is
// false when the rows come without their role paths.
func (e *env) mirrorAt(s model.Store, t time.Time) (m *model.Mirror, withPaths bool, err error) {
	if h, ok := s.(historian); ok {
		return h.MirrorAt(e.ctx, t)
	}
	n, err := e.generationAt(s, t)
	if err != nil {
		return nil, false, err
	}
	m, err = s.Open(e.ctx, n)
	return m, true, err
}

// generationAt is the kept generation that was current at t: the one
// published last at or before it (--at judges by publish time, when readers
// started to see a generation, not by when its snapshot was taken).
func (e *env) generationAt(s model.Store, t time.Time) (int, error) {
	gens, err := s.Generations(e.ctx)
	if err != nil {
		return 0, err
	}
	var best, oldest *model.Generation
	for i := range gens {
		g := &gens[i]
		if !g.PublishedAt.After(t) && (best == nil || g.PublishedAt.After(best.PublishedAt) ||
			g.PublishedAt.Equal(best.PublishedAt) && g.Number > best.Number) {
			best = g
		}
		if oldest == nil || g.PublishedAt.Before(oldest.PublishedAt) {
			oldest = g
		}
	}
	switch {
	case oldest == nil:
		return 0, fmt.Errorf("%s: %w; run grantmirror sync first", model.RedactDSN(e.cfg.Target), model.ErrNoGeneration)
	case best == nil:
		return 0, fmt.Errorf("%w: %s is before %s, when generation %d, the oldest %s keeps, was published; a directory target answers only for the generations it keeps (--keep)",
			model.ErrUnknownGeneration, stamp(t), stamp(oldest.PublishedAt), oldest.Number, model.RedactDSN(e.cfg.Target))
	}
	return best.Number, nil
}

// explainGrants passes local grants to explain.
func explainGrants(gs []pgstore.LocalGrant) []explain.LocalGrant {
	out := make([]explain.LocalGrant, len(gs))
	for i, g := range gs {
		out[i] = explain.LocalGrant{Row: g.Row, ID: g.ID, GrantedBy: g.GrantedBy, Approver: g.Approver,
			Reason: g.Reason, CreatedAt: g.CreatedAt, Until: g.Until}
	}
	return out
}

// mirrorFor reads the mirror a report asks for: as of --at, or generation
// --generation (0: the current one).
func (e *env) mirrorFor(c *cli.Context) (*model.Mirror, error) {
	at, err := atTime(c)
	if err != nil || at.IsZero() {
		if err != nil {
			return nil, err
		}
		return e.openMirror(c.Int("generation"))
	}
	if c.IsSet("generation") {
		return nil, usageErr("--at and --generation each choose a generation: give one of them")
	}
	s, err := e.openStore()
	if err != nil {
		return nil, err
	}
	defer s.Close()
	m, withPaths, err := e.mirrorAt(s, at)
	if err != nil {
		return nil, err
	}
	// The object and role views are built from the role paths; without them
	// they would come out empty rather than say what is missing.
	if by := c.String("by"); !withPaths && (by == "object" || by == "role" || by == "all") {
		return nil, fmt.Errorf("report --by %s --at %s: generation %d, current then, is no longer kept, and the access history has no role paths; use --by access or --by user",
			by, stamp(at), m.Meta.Generation)
	}
	return m, nil
}
