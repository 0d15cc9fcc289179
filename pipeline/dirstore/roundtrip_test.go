package dirstore

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/pipeline/model"
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
	a := &model.Account{Name: "ACME", ExtractedAt: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Source: "test", HasRoles: true, HasHistory: true}
	for i := range 3 {
		var u model.User
		fill(&u, i)
		var r model.Role
		fill(&r, i)
		var ug model.UserGrant
		fill(&ug, i)
		var rg, nest model.RoleGrant
		fill(&rg, i)
		fill(&nest, i)
		nest.GrantedOn = "ROLE"
		var tg model.TagRef
		fill(&tg, i)
		var p model.PolicyRef
		fill(&p, i)
		var h model.AccessEvent
		fill(&h, i)
		a.Users, a.Roles, a.UserGrants = append(a.Users, u), append(a.Roles, r), append(a.UserGrants, ug)
		a.RoleGrants = append(a.RoleGrants, rg, nest)
		a.Tags, a.Policies, a.History = append(a.Tags, tg), append(a.Policies, p), append(a.History, h)
	}
	m := &model.Mirror{Meta: model.Meta{Accounts: []model.AccountMeta{{Name: "ACME"}}},
		Access:   model.NewAccess([]model.Row{{Account: "ACME", Email: "a@example.com", ObjectType: "TABLE", ObjectName: "DB.S.T", Privilege: "SELECT"}}),
		Snapshot: &model.Snapshot{Accounts: []*model.Account{a}}}
	var ms model.Membership
	fill(&ms, 0)
	ms.Account, ms.Path = "ACME", []string{"R1", "R2"}
	var g model.Grant
	fill(&g, 0)
	g.Account = "ACME"
	m.Memberships, m.Grants = []model.Membership{ms}, []model.Grant{g}

	s, err := Open(t.TempDir())
	require.NoError(t, err)
	ctx := context.Background()
	_, err = s.Publish(ctx, m, model.DefaultPublishOptions())
	require.NoError(t, err)
	back, err := s.Open(ctx, 0)
	require.NoError(t, err)
	require.Equal(t, m.Snapshot, back.Snapshot)
	require.Equal(t, m.Memberships, back.Memberships)
	require.Equal(t, m.Grants, back.Grants)
}
