package snowflake

import (
	"io/fs"
	"strings"

	sqlfiles "github.com/grantmirror/grantmirror/sql"
)

// view is one SNOWFLAKE.ACCOUNT_USAGE view and the snapshot file it becomes.
type view struct {
	name     string // e.g. GRANTS_TO_ROLES
	file     string // e.g. grants_to_roles.csv
	required bool   // the snapshot is useless without it
	history  bool   // the query takes HistoryDays as its one bind parameter
	sql      string
	// optional are columns sql reads that some accounts' views lack, and
	// fallback the query without them, run when Snowflake answers sql with an
	// invalid identifier error naming one of them.
	optional []string
	fallback string
}

// views are read in this order: the required ones first, so that an account
// whose role cannot read them fails before the long optional queries run.
var views = loadViews()

func loadViews() []view {
	list := []view{
		// EXPIRES_AT, the locks and DEFAULT_SECONDARY_ROLE came to USERS later
		// than the rest; an account without one of them still has users.
		{name: "USERS", required: true, optional: []string{"DEFAULT_SECONDARY_ROLE", "EXPIRES_AT", "LOCKED_UNTIL_TIME", "SNOWFLAKE_LOCK"}},
		{name: "GRANTS_TO_USERS", required: true},
		{name: "GRANTS_TO_ROLES", required: true},
		{name: "ROLES"},
		{name: "TAG_REFERENCES"},
		{name: "POLICY_REFERENCES"},
		{name: "MASKING_POLICIES"},
		{name: "ROW_ACCESS_POLICIES"},
		{name: "PROJECTION_POLICIES"},
		{name: "ACCESS_HISTORY", history: true},
	}
	for i := range list {
		base := strings.ToLower(list[i].name)
		list[i].file = base + ".csv"
		b, err := fs.ReadFile(sqlfiles.Snowflake, "snowflake/"+base+".sql")
		if err != nil {
			// The queries are embedded at build time: a missing one is a
			// build mistake that every test of this package catches.
			panic("snowflake: embedded query missing: " + err.Error())
		}
		list[i].sql = string(b)
		if len(list[i].optional) > 0 {
			b, err := fs.ReadFile(sqlfiles.Snowflake, "snowflake/"+base+"_without_optional.sql")
			if err != nil {
				panic("snowflake: embedded query missing: " + err.Error())
			}
			list[i].fallback = string(b)
		}
	}
	return list
}
