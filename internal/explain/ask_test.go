package explain

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/pipeline/model"
)

// memReader answers the read layer's questions from one generation in memory,
// exactly as the contract defines the answers.
type memReader struct {
	m      *model.Mirror
	slices int
}

func (r *memReader) Slice(_ context.Context, n int, f model.Focus) (*model.Mirror, error) {
	if n != 0 && n != r.m.Meta.Generation {
		return nil, model.ErrUnknownGeneration
	}
	r.slices++
	return model.SliceOf(r.m, f), nil
}

func (r *memReader) Changes(context.Context, int, int, model.Focus) (*model.Changes, error) {
	return nil, errors.New("not asked")
}

func (r *memReader) Scan(context.Context, int, func(model.Row) error) error {
	return errors.New("not asked")
}

func (r *memReader) ObjectNames(_ context.Context, _ int, account string) ([]string, error) {
	return model.ObjectNamesOf(r.m, account), nil
}

func (r *memReader) People(context.Context, int) ([]model.Person, error) {
	return model.PeopleOf(r.m), nil
}

// TestAskFromASliceEqualsTheWholeGeneration: explain reading only the slice of a
// generation about one person and one object answers exactly as it does from
// the whole generation, allowed or denied, for a spread of the sample's people
// and objects; check agrees with it.
func TestAskFromASliceEqualsTheWholeGeneration(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"acme", "adversarial", "tiny"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, m := load(t, name, acmeAliases)
			m.Meta.Generation = 4
			r := &memReader{m: m}
			src := Source{Reader: r, Config: Config{Mode: m.Meta.Mode, Roles: m.Meta.Roles, Settings: *m.Meta.Settings}}
			norm := src.Config.Normalizer(m.Meta)
			// A spread of the people with rows, and every address without
			// rows: users disabled, expired, dropped or holding no role, whose
			// why-not reads only their own users, and addresses no user has,
			// which read every user.
			var emails []string
			var rows []string
			for _, e := range m.Access.Emails() {
				rows = append(rows, e)
			}
			for i := 0; i < len(rows); i += max(1, len(rows)/25) {
				emails = append(emails, rows[i])
			}
			emails = append(emails, "nobody@acme.example", "alice.martin@acme-emea.example")
			for _, a := range m.Snapshot.Accounts {
				for _, u := range a.Users {
					if e, _ := norm.User(u.Name, u.Email); !slices.Contains(rows, e) && !slices.Contains(emails, e) {
						emails = append(emails, e)
					}
				}
			}
			objects := append(model.ObjectNamesOf(m, ""), "SALES.PUBLIC.ORDERZ")
			asked, allowed := 0, 0
			// Each person asked about a spread of objects.
			for i, e := range emails {
				for j := i % 7; j < len(objects); j += 7 {
					for _, priv := range []string{"", "SELECT", "USAGE"} {
						q := Query{Email: e, Object: objects[j], Privilege: priv}
						got, err := Ask(context.Background(), src, 0, q)
						require.NoError(t, err)
						wq := q
						wq.Email, _ = norm.Email(q.Email)
						want := Explain(m, wq, norm)
						require.Equal(t, want, got, "%+v", q)
						if priv != "" {
							ok, err := Check(context.Background(), src, q)
							require.NoError(t, err)
							require.Equal(t, want.Allowed, ok, "check %+v", q)
						}
						asked++
						if want.Allowed {
							allowed++
						}
					}
				}
			}
			require.Positive(t, allowed, "some questions are allowed")
			require.Less(t, allowed, asked, "some are denied")
		})
	}
}

// TestCheckCountsLocalGrants: a local grant in force allows what Snowflake
// denies, for its own question only, and only when Snowflake's rows do not
// already answer.
func TestCheckCountsLocalGrants(t *testing.T) {
	t.Parallel()
	_, m := load(t, "tiny", acmeAliases)
	r := &memReader{m: m}
	calls := 0
	src := Source{Reader: r, Local: func(_ context.Context, email string, at time.Time) ([]LocalGrant, error) {
		calls++
		require.True(t, at.IsZero(), "check asks for the grants in force now")
		return coverGrant(email, "SHOP.PUBLIC.ITEMS"), nil
	}}
	q := Query{Email: "zoe@tiny.example", Object: "SHOP.PUBLIC.ITEMS", Privilege: "SELECT"}
	without, err := Check(context.Background(), Source{Reader: r}, q)
	require.NoError(t, err)
	require.False(t, without)
	with, err := Check(context.Background(), src, q)
	require.NoError(t, err)
	require.True(t, with)
	q.Privilege = "INSERT"
	other, err := Check(context.Background(), src, q)
	require.NoError(t, err)
	require.False(t, other, "a local grant gives its own privilege only")
	ans, err := Ask(context.Background(), src, 0, Query{Email: "zoe@tiny.example", Object: "SHOP.PUBLIC.ITEMS", Privilege: "SELECT"})
	require.NoError(t, err)
	require.True(t, ans.Allowed)
	require.NotNil(t, ans.Reasons[len(ans.Reasons)-1].Local)
	require.NotEmpty(t, ans.Misses, "the misses still say what Snowflake alone lacks")
	_, err = Ask(context.Background(), src, 7, Query{Email: "zoe@tiny.example", Object: "SHOP.PUBLIC.ITEMS"})
	require.ErrorIs(t, err, model.ErrUnknownGeneration)
}
