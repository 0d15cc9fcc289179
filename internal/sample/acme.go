package sample

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/grantmirror/grantmirror/pipeline/model"
)

// AcmeUsers and AcmeSeed are the size and seed of the acme account bundled in
// testdata/sample/acme: grantmirror sample --preset acme writes it again exactly.
const (
	AcmeUsers        = 320
	AcmeSeed  uint64 = 7
)

// Acme builds the bundled realistic sample: an invented company with sales,
// marketing, finance, HR and data teams, a subsidiary on another email domain,
// service accounts, and the untidy parts every real account has (revoked grants,
// disabled and recreated users, a dropped role, a schema nobody can enter).
func Acme(users int, seed uint64) *model.Account {
	b := &acme{r: rand.New(rand.NewPCG(seed, 42)), a: &model.Account{
		Name: "ACME", ExtractedAt: extractedAt, Source: "sample:acme", HasRoles: true, HasHistory: true,
	}}
	b.objects()
	b.roles()
	b.people(users)
	b.governance()
	return b.a
}

type acme struct {
	r      *rand.Rand
	a      *model.Account
	objs   []obj
	emails []string
}

var acmeSchemas = []struct {
	db, schema string
	objects    []string // TYPE:NAME
}{
	{"SALES", "PUBLIC", []string{"TABLE:ORDERS", "TABLE:CUSTOMERS", "TABLE:ORDER_LINES", "VIEW:V_DAILY_REVENUE", "FUNCTION:NET_AMOUNT(NUMBER, NUMBER):NUMBER"}},
	{"SALES", "CORE", []string{"TABLE:lines", "TABLE:ACCOUNTS", "TABLE:OPPORTUNITIES"}},
	{"SALES", "Reporting", []string{"VIEW:Pipeline by Region", "MATERIALIZED_VIEW:QUOTA_ATTAINMENT"}},
	{"MARKETING", "CAMPAIGNS", []string{"TABLE:CAMPAIGNS", "TABLE:SPEND", "TABLE:LEADS"}},
	{"MARKETING", "WEB", []string{"TABLE:PAGEVIEWS", "TABLE:SESSIONS"}},
	{"FINANCE", "LEDGER", []string{"TABLE:GL_ENTRIES", "TABLE:INVOICES", "VIEW:V_MRR"}},
	{"FINANCE", "PAYROLL", []string{"TABLE:SALARIES", "TABLE:BONUSES"}},
	{"HR", "PEOPLE", []string{"TABLE:EMPLOYEES", "TABLE:REVIEWS"}},
	{"RAW", "STRIPE", []string{"TABLE:CHARGES", "TABLE:REFUNDS", "STAGE:LANDING"}},
	{"RAW", "SALESFORCE", []string{"TABLE:ACCOUNT", "TABLE:OPPORTUNITY"}},
	{"RAW", "events", []string{"TABLE:page_view", "TABLE:click"}},
	{"ANALYTICS", "MARTS", []string{"TABLE:DIM_CUSTOMER", "TABLE:FCT_ORDERS", "DYNAMIC_TABLE:FCT_REVENUE_LIVE"}},
	{"ANALYTICS", "SANDBOX", []string{"TABLE:SCRATCH"}},
}

func (b *acme) grant(priv, on, name, catalog, schema, to, grantee string) {
	b.a.RoleGrants = append(b.a.RoleGrants, model.RoleGrant{Privilege: priv, GrantedOn: on, Name: name, Catalog: catalog, Schema: schema, GrantedTo: to, Grantee: grantee})
}

// revoked adds a grant that was revoked days before the extract.
func (b *acme) revoked(days int, priv, on, name, catalog, schema, to, grantee string) {
	b.grant(priv, on, name, catalog, schema, to, grantee)
	b.a.RoleGrants[len(b.a.RoleGrants)-1].DeletedOn = extractedAt.Add(-time.Duration(days) * 24 * time.Hour)
}

func (b *acme) role(name string) {
	b.a.Roles = append(b.a.Roles, model.Role{Name: name, Type: "ROLE"})
}

func (b *acme) inherit(grantee string, roles ...string) {
	for _, r := range roles {
		if db, role, ok := strings.Cut(r, "."); ok {
			b.grant("USAGE", "DATABASE_ROLE", role, db, "", "ROLE", grantee)
		} else {
			b.grant("USAGE", "ROLE", r, "", "", "ROLE", grantee)
		}
	}
}

func (b *acme) objects() {
	for _, s := range acmeSchemas {
		for _, o := range s.objects {
			typ, name, _ := strings.Cut(o, ":")
			b.objs = append(b.objs, obj{typ, s.db, s.schema, name})
		}
	}
}

func (b *acme) dbObjects(db string, skipSchema string, fn func(o obj)) {
	for _, o := range b.objs {
		if o.db == db && o.schema != skipSchema {
			fn(o)
		}
	}
}

func readPriv(typ string) string {
	switch typ {
	case "FUNCTION", "STAGE":
		return "USAGE"
	}
	return "SELECT"
}

func (b *acme) roles() {
	// Database roles: READER reads the whole database (FINANCE's readers are kept out
	// of PAYROLL), WRITER inherits READER (a database role granted to a database role)
	// and writes the tables.
	for _, db := range []string{"SALES", "MARKETING", "FINANCE", "HR", "RAW", "ANALYTICS"} {
		b.a.Roles = append(b.a.Roles, model.Role{Name: "READER", Type: "DATABASE_ROLE", Database: db}, model.Role{Name: "WRITER", Type: "DATABASE_ROLE", Database: db})
		b.grant("USAGE", "DATABASE", db, "", "", "DATABASE_ROLE", "READER")
		skip := ""
		if db == "FINANCE" {
			skip = "PAYROLL"
		}
		seen := map[string]bool{}
		b.dbObjects(db, skip, func(o obj) {
			if !seen[o.schema] {
				seen[o.schema] = true
				b.grant("USAGE", "SCHEMA", o.schema, db, "", "DATABASE_ROLE", "READER")
			}
			b.grant(readPriv(o.typ), o.typ, o.name, o.db, o.schema, "DATABASE_ROLE", "READER")
			if o.typ == "TABLE" {
				for _, p := range []string{"INSERT", "UPDATE", "DELETE"} {
					b.grant(p, o.typ, o.name, o.db, o.schema, "DATABASE_ROLE", "WRITER")
				}
			}
		})
		b.grant("USAGE", "DATABASE_ROLE", "READER", db, "", "DATABASE_ROLE", "WRITER")
	}
	for _, r := range []string{"ACCOUNTADMIN", "SECURITYADMIN", "SYSADMIN", "ANALYST", "BI_READ", "REPORTING_RO", "SALES_ANALYST",
		"MARKETING_ANALYST", "FINANCE_ANALYST", "FINANCE_LEAD", "PAYROLL_ADMIN", "HR_PARTNER", "DATA_ENGINEER", "ANALYTICS_ENGINEER",
		"TRANSFORMER", "DATA_SCIENTIST", "EXEC", "SUPPORT", "INTERN", "LOADER", "BI_TOOL", "ORPHAN_ROLE", "Data Stewards"} {
		b.role(r)
	}
	b.a.Roles = append(b.a.Roles, model.Role{Name: "LEGACY_REPORTING", Type: "ROLE", DeletedOn: extractedAt.Add(-20 * 24 * time.Hour)})

	for _, wh := range []string{"COMPUTE_WH", "BI_WH", "ETL_WH"} {
		b.grant("OWNERSHIP", "WAREHOUSE", wh, "", "", "ROLE", "SYSADMIN")
	}
	b.grant("USAGE", "WAREHOUSE", "COMPUTE_WH", "", "", "ROLE", "PUBLIC")
	b.grant("USAGE", "WAREHOUSE", "BI_WH", "", "", "ROLE", "BI_READ")
	b.grant("USAGE", "WAREHOUSE", "ETL_WH", "", "", "ROLE", "LOADER")
	b.grant("OPERATE", "WAREHOUSE", "ETL_WH", "", "", "ROLE", "DATA_ENGINEER")

	// The hierarchy, with a harmless cycle between BI_READ and REPORTING_RO.
	b.inherit("BI_READ", "ANALYTICS.READER", "REPORTING_RO")
	b.inherit("REPORTING_RO", "BI_READ")
	b.inherit("ANALYST", "BI_READ", "SALES.READER")
	b.inherit("SALES_ANALYST", "ANALYST")
	b.inherit("MARKETING_ANALYST", "ANALYST", "MARKETING.READER")
	b.inherit("FINANCE_ANALYST", "ANALYST", "FINANCE.READER")
	b.inherit("FINANCE_LEAD", "FINANCE_ANALYST", "PAYROLL_ADMIN")
	b.inherit("HR_PARTNER", "HR.READER", "BI_READ")
	b.inherit("TRANSFORMER", "ANALYTICS.WRITER", "RAW.READER")
	b.inherit("ANALYTICS_ENGINEER", "TRANSFORMER", "ANALYST")
	b.inherit("DATA_ENGINEER", "ANALYTICS_ENGINEER", "RAW.WRITER", "LOADER")
	b.inherit("DATA_SCIENTIST", "ANALYST", "MARKETING.READER")
	b.inherit("EXEC", "SALES_ANALYST", "FINANCE_ANALYST")
	b.inherit("BI_TOOL", "ANALYST")
	b.inherit("LOADER", "RAW.WRITER")
	b.inherit("SYSADMIN", "DATA_ENGINEER")
	b.inherit("ACCOUNTADMIN", "SYSADMIN", "SECURITYADMIN")

	// PAYROLL is readable only through PAYROLL_ADMIN.
	b.grant("USAGE", "SCHEMA", "PAYROLL", "FINANCE", "", "ROLE", "PAYROLL_ADMIN")
	b.dbObjects("FINANCE", "", func(o obj) {
		if o.schema == "PAYROLL" {
			b.grant("SELECT", o.typ, o.name, o.db, o.schema, "ROLE", "PAYROLL_ADMIN")
		}
	})
	b.revoked(30, "SELECT", "TABLE", "BONUSES", "FINANCE", "PAYROLL", "ROLE", "FINANCE_ANALYST")

	// Data scientists may select raw events but were never given the schema: in
	// effective mode they cannot reach them.
	b.grant("SELECT", "TABLE", "page_view", "RAW", "events", "ROLE", "DATA_SCIENTIST")
	b.grant("SELECT", "TABLE", "click", "RAW", "events", "ROLE", "DATA_SCIENTIST")

	// Support sees customers and orders; interns were granted a table without its
	// containers.
	b.grant("USAGE", "DATABASE", "SALES", "", "", "ROLE", "SUPPORT")
	b.grant("USAGE", "SCHEMA", "PUBLIC", "SALES", "", "ROLE", "SUPPORT")
	b.grant("SELECT", "TABLE", "CUSTOMERS", "SALES", "PUBLIC", "ROLE", "SUPPORT")
	b.grant("SELECT", "TABLE", "ORDERS", "SALES", "PUBLIC", "ROLE", "SUPPORT")
	b.grant("SELECT", "TABLE", "ORDERS", "SALES", "PUBLIC", "ROLE", "INTERN")

	// Ownership: SYSADMIN owns the databases, TRANSFORMER the marts, data engineers
	// the sandbox schema, SECURITYADMIN the roles.
	for _, db := range []string{"SALES", "MARKETING", "FINANCE", "HR", "RAW", "ANALYTICS"} {
		b.grant("OWNERSHIP", "DATABASE", db, "", "", "ROLE", "SYSADMIN")
	}
	b.dbObjects("ANALYTICS", "SANDBOX", func(o obj) { b.grant("OWNERSHIP", o.typ, o.name, o.db, o.schema, "ROLE", "TRANSFORMER") })
	b.grant("OWNERSHIP", "SCHEMA", "SANDBOX", "ANALYTICS", "", "ROLE", "DATA_ENGINEER")
	b.grant("OWNERSHIP", "TABLE", "SCRATCH", "ANALYTICS", "SANDBOX", "ROLE", "DATA_ENGINEER")
	for _, r := range []string{"ANALYST", "SALES_ANALYST", "FINANCE_ANALYST", "DATA_ENGINEER"} {
		b.grant("OWNERSHIP", "ROLE", r, "", "", "ROLE", "SECURITYADMIN")
	}
	b.grant("CREATE DATABASE", "ACCOUNT", "ACME", "", "", "ROLE", "ACCOUNTADMIN")
	b.grant("MANAGE GRANTS", "ACCOUNT", "ACME", "", "", "ROLE", "SECURITYADMIN")

	// A dropped role whose grants linger in the extract, and a role nobody holds.
	b.grant("SELECT", "TABLE", "SALARIES", "FINANCE", "PAYROLL", "ROLE", "LEGACY_REPORTING")
	b.grant("USAGE", "SCHEMA", "PAYROLL", "FINANCE", "", "ROLE", "LEGACY_REPORTING")
	b.inherit("LEGACY_REPORTING", "FINANCE.READER")
	b.grant("SELECT", "TABLE", "EMPLOYEES", "HR", "PEOPLE", "ROLE", "ORPHAN_ROLE")
	b.grant("USAGE", "SCHEMA", "PEOPLE", "HR", "", "ROLE", "Data Stewards")
	b.grant("SELECT", "TABLE", "REVIEWS", "HR", "PEOPLE", "ROLE", "Data Stewards")
	b.grant("USAGE", "DATABASE", "HR", "", "", "ROLE", "Data Stewards")
	b.revoked(12, "SELECT", "TABLE", "SPEND", "MARKETING", "CAMPAIGNS", "ROLE", "SALES_ANALYST")
	b.grant("USAGE", "DATABASE", "SALES", "", "", "APPLICATION", "SALESFORCE_CONNECTOR")
}

var firstNames = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj",
	"olivia", "peggy", "rupert", "sybil", "trent", "uma", "victor", "wendy", "xavier", "yara", "zoe", "amir", "bea", "chen",
	"dara", "emeka", "farah", "goran", "hana", "ines", "jonas", "kofi", "lena", "mateo", "nora", "omar", "priya", "quinn"}
var lastNames = []string{"martin", "nguyen", "smith", "garcia", "kowalski", "okafor", "tanaka", "muller", "rossi", "dubois",
	"silva", "khan", "larsen", "novak", "ahmed", "berg", "costa", "diaz", "eriksen", "fischer"}

// teams weights the roles people get, most common first.
var teams = []struct {
	role   string
	weight int
}{
	{"ANALYST", 20}, {"SALES_ANALYST", 18}, {"MARKETING_ANALYST", 12}, {"FINANCE_ANALYST", 8}, {"DATA_SCIENTIST", 8},
	{"ANALYTICS_ENGINEER", 6}, {"SUPPORT", 10}, {"HR_PARTNER", 4}, {"DATA_ENGINEER", 5}, {"EXEC", 2}, {"INTERN", 4},
	{"FINANCE_LEAD", 1}, {"Data Stewards", 2},
}

func (b *acme) pickTeam() string {
	total := 0
	for _, t := range teams {
		total += t.weight
	}
	n := b.r.IntN(total)
	for _, t := range teams {
		if n < t.weight {
			return t.role
		}
		n -= t.weight
	}
	return teams[0].role
}

func (b *acme) user(name, email, typ, role string) *model.User {
	b.a.Users = append(b.a.Users, model.User{Name: name, Email: email, Type: typ, LoginName: name, DisplayName: name, DefaultRole: role})
	if role != "" {
		b.a.UserGrants = append(b.a.UserGrants, model.UserGrant{Role: role, Grantee: name})
	}
	return &b.a.Users[len(b.a.Users)-1]
}

func (b *acme) people(n int) {
	// The people the README's walkthrough talks about come first.
	b.user("AMARTIN", " Alice.Martin@acme-emea.example ", "PERSON", "SALES_ANALYST")
	b.user("ALICE_ADMIN", "alice.martin@acme.example", "PERSON", "DATA_ENGINEER")
	b.user("BNGUYEN", "bob.nguyen@acme.example", "PERSON", "FINANCE_ANALYST")
	b.user("CSMITH", "carol.smith@acme.example", "PERSON", "INTERN")
	b.a.UserGrants = append(b.a.UserGrants, model.UserGrant{Role: "EXEC", Grantee: "CSMITH", DeletedOn: extractedAt.Add(-3 * 24 * time.Hour)})
	b.user("DGARCIA", "dave.garcia@acme.example", "PERSON", "ACCOUNTADMIN")
	b.user("EKOWALSKI", "erin.kowalski@acme.example", "PERSON", "HR_PARTNER").Disabled = true
	b.user("LOADER_SVC", "svc-10293", "SERVICE", "LOADER")
	b.user("BI_TOOL_SVC", "", "SERVICE", "BI_TOOL")
	b.user("AIRFLOW", "40913377", "SERVICE", "DATA_ENGINEER")
	b.user("DBT_SVC", "data-platform@acme.example", "SERVICE", "TRANSFORMER")
	b.user("LEGACY_BOT", "reports@acme.example", "LEGACY_SERVICE", "LEGACY_REPORTING")

	used := map[string]bool{}
	for _, u := range b.a.Users {
		used[u.Name] = true
		used[strings.TrimSpace(strings.ToLower(strings.Split(u.Email, "@")[0]))] = true
	}
	for i := 0; len(b.a.Users) < n; i++ {
		first, last := firstNames[b.r.IntN(len(firstNames))], lastNames[b.r.IntN(len(lastNames))]
		email := first + "." + last
		if used[email] {
			email = fmt.Sprintf("%s%d", email, i)
		}
		used[email] = true
		domain := "acme.example"
		if b.r.IntN(8) == 0 {
			domain = "acme-emea.example" // the subsidiary, aliased in config.yaml
		}
		name := strings.ToUpper(first[:1] + strings.ReplaceAll(email[len(first)+1:], ".", ""))
		if used[name] {
			name = fmt.Sprintf("%s_%d", name, i)
		}
		used[name] = true
		address := email + "@" + domain
		if b.r.IntN(10) == 0 {
			address = strings.ToUpper(address[:1]) + address[1:] // case does not matter
		}
		u := b.user(name, address, "PERSON", b.pickTeam())
		switch k := b.r.IntN(100); {
		case k < 4:
			u.Disabled = true
		case k < 6:
			// Dropped and recreated: the old row stays in USERS with DELETED_ON.
			old := *u
			old.DeletedOn = extractedAt.Add(-time.Duration(5+b.r.IntN(60)) * 24 * time.Hour)
			b.a.Users = append(b.a.Users, old)
		case k < 12:
			b.a.UserGrants = append(b.a.UserGrants, model.UserGrant{Role: b.pickTeam(), Grantee: name})
		case k < 14:
			b.a.UserGrants = append(b.a.UserGrants, model.UserGrant{Role: b.pickTeam(), Grantee: name, DeletedOn: extractedAt.Add(-time.Duration(1+b.r.IntN(90)) * 24 * time.Hour)})
		}
		b.emails = append(b.emails, name)
	}
}

// governance adds masking policies, PII tags and access history.
func (b *acme) governance() {
	b.a.Policies = []model.PolicyRef{
		{PolicyName: "GOVERNANCE.POLICIES.EMAIL_MASK", PolicyKind: "MASKING_POLICY", Database: "HR", Schema: "PEOPLE", Entity: "EMPLOYEES", Column: "EMAIL"},
		{PolicyName: "GOVERNANCE.POLICIES.SSN_MASK", PolicyKind: "MASKING_POLICY", Database: "HR", Schema: "PEOPLE", Entity: "EMPLOYEES", Column: "SSN"},
		{PolicyName: "GOVERNANCE.POLICIES.AMOUNT_MASK", PolicyKind: "MASKING_POLICY", Database: "FINANCE", Schema: "PAYROLL", Entity: "SALARIES", Column: "AMOUNT"},
		{PolicyName: "GOVERNANCE.POLICIES.REGION_FILTER", PolicyKind: "ROW_ACCESS_POLICY", Database: "SALES", Schema: "PUBLIC", Entity: "ORDERS"},
	}
	b.a.Tags = []model.TagRef{
		{TagDatabase: "GOVERNANCE", TagSchema: "TAGS", TagName: "PII", TagValue: "email", ObjectDatabase: "SALES", ObjectSchema: "PUBLIC", ObjectName: "CUSTOMERS", Column: "EMAIL", Domain: "COLUMN"},
		{TagDatabase: "GOVERNANCE", TagSchema: "TAGS", TagName: "PII", TagValue: "phone", ObjectDatabase: "SALES", ObjectSchema: "PUBLIC", ObjectName: "CUSTOMERS", Column: "PHONE", Domain: "COLUMN"},
		{TagDatabase: "SNOWFLAKE", TagSchema: "CORE", TagName: "PRIVACY_CATEGORY", TagValue: "IDENTIFIER", ObjectDatabase: "SALES", ObjectSchema: "PUBLIC", ObjectName: "CUSTOMERS", Column: "FULL_NAME", Domain: "COLUMN"},
		{TagDatabase: "GOVERNANCE", TagSchema: "TAGS", TagName: "COST_CENTER", TagValue: "sales", ObjectDatabase: "SALES", ObjectSchema: "PUBLIC", ObjectName: "ORDERS", Domain: "TABLE"},
	}
	// Most people use a fraction of what they can reach: history covers a few
	// popular objects for about half of them.
	popular := []string{"SALES.PUBLIC.ORDERS", "SALES.PUBLIC.CUSTOMERS", "ANALYTICS.MARTS.FCT_ORDERS", "MARKETING.CAMPAIGNS.SPEND", "FINANCE.LEDGER.V_MRR"}
	for _, name := range b.emails {
		if b.r.IntN(2) == 0 {
			continue
		}
		for _, o := range popular {
			if b.r.IntN(3) == 0 {
				b.a.History = append(b.a.History, model.AccessEvent{User: name, ObjectDomain: "TABLE", ObjectName: o,
					LastAccessed: extractedAt.Add(-time.Duration(1+b.r.IntN(80*24)) * time.Hour), QueryCount: int64(1 + b.r.IntN(400))})
			}
		}
	}
	b.a.History = append(b.a.History, model.AccessEvent{User: "AMARTIN", ObjectDomain: "TABLE", ObjectName: "SALES.PUBLIC.ORDERS", LastAccessed: extractedAt.Add(-26 * time.Hour), QueryCount: 812})
}
