package dirstore

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/pipeline"
)

// fill sets every field of the struct v points to a non-zero value derived from
// its name and seed, so a field the codec forgets comes back zero and differs.
func fill(v any, seed int) {
	rv := reflect.ValueOf(v).Elem()
	for i := range rv.NumField() {
		f, name := rv.Field(i), rv.Type().Field(i).Name
		switch f.Kind() {
		case reflect.String:
			f.SetString(name + "_" + string(rune('A'+seed)))
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Int, reflect.Int64:
			f.SetInt(int64(7 + seed))
		case reflect.Struct:
			if f.Type() == reflect.TypeOf(time.Time{}) {
				f.Set(reflect.ValueOf(time.Date(2026, 1, 2+seed, 3, 4, 5, 6, time.UTC)))
			}
		}
	}
}

// TestSnapshotRoundTrip stores a snapshot in which every field of every record is
// set and reads it back equal: a field added to the snapshot types and not to the
// codec fails here, not in explain.
func TestSnapshotRoundTrip(t *testing.T) {
	t.Parallel()
	a := &pipeline.Account{Name: "ACME", ExtractedAt: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Source: "test", HasRoles: true, HasHistory: true}
	for i := range 3 {
		var u pipeline.User
		fill(&u, i)
		var r pipeline.Role
		fill(&r, i)
		var ug pipeline.UserGrant
		fill(&ug, i)
		var rg, nest pipeline.RoleGrant
		fill(&rg, i)
		fill(&nest, i)
		nest.GrantedOn = "ROLE"
		var tg pipeline.TagRef
		fill(&tg, i)
		var p pipeline.PolicyRef
		fill(&p, i)
		var h pipeline.AccessEvent
		fill(&h, i)
		a.Users, a.Roles, a.UserGrants = append(a.Users, u), append(a.Roles, r), append(a.UserGrants, ug)
		a.RoleGrants = append(a.RoleGrants, rg, nest)
		a.Tags, a.Policies, a.History = append(a.Tags, tg), append(a.Policies, p), append(a.History, h)
	}
	m := &pipeline.Mirror{Meta: pipeline.Meta{Accounts: []pipeline.AccountMeta{{Name: "ACME"}}},
		Access:   pipeline.NewAccess([]pipeline.Row{{Account: "ACME", Email: "a@example.com", ObjectType: "TABLE", ObjectName: "DB.S.T", Privilege: "SELECT"}}),
		Snapshot: &pipeline.Snapshot{Accounts: []*pipeline.Account{a}}}
	var ms pipeline.Membership
	fill(&ms, 0)
	ms.Account, ms.Path = "ACME", []string{"R1", "R2"}
	var g pipeline.Grant
	fill(&g, 0)
	g.Account = "ACME"
	m.Memberships, m.Grants = []pipeline.Membership{ms}, []pipeline.Grant{g}

	s, err := Open(t.TempDir())
	require.NoError(t, err)
	ctx := context.Background()
	_, err = s.Publish(ctx, m, pipeline.DefaultPublishOptions())
	require.NoError(t, err)
	back, err := s.Open(ctx, 0)
	require.NoError(t, err)
	require.Equal(t, m.Snapshot, back.Snapshot)
	require.Equal(t, m.Memberships, back.Memberships)
	require.Equal(t, m.Grants, back.Grants)
}
