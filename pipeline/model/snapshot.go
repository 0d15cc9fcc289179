package model

import "time"

// Snapshot is the grant graph of one or more accounts, as read from ACCOUNT_USAGE.
type Snapshot struct {
	Accounts []*Account
	// Warnings are what the reader accepted but a person should know: an account
	// without manifest.json, named after its directory, with no extracted_at.
	Warnings []string
}

// Account holds one account's views, one slice per snapshot file. Values are
// normalized on read (keywords upper-cased, DISABLED parsed) but names are kept raw,
// as Snowflake stores them, so explain can quote the source faithfully.
type Account struct {
	Name        string
	ExtractedAt time.Time
	Source      string

	Users      []User
	Roles      []Role // nil when roles.csv is absent
	UserGrants []UserGrant
	RoleGrants []RoleGrant
	Tags       []TagRef
	Policies   []PolicyRef
	// Bodies are the policy definitions; BodiesOf records which kinds' views the
	// snapshot holds, so a policy without a body is told from one never extracted.
	Bodies     []PolicyBody
	BodiesOf   map[string]bool
	History    []AccessEvent
	HasRoles   bool // roles.csv was present, so an unlisted role is unknown rather than unseen
	HasHistory bool // access_history.csv was present
}

// User is a row of users.csv.
type User struct {
	Line        int
	Name        string
	Email       string
	Disabled    bool
	DeletedOn   time.Time
	Type        string
	LoginName   string
	DisplayName string
	DefaultRole string
	// ExpiresAt is USERS.EXPIRES_AT; Expired says it had passed when the snapshot
	// was extracted (or, for a snapshot without extracted_at, when it was read).
	ExpiresAt time.Time
	Expired   bool
	// SnowflakeLock and LockedUntil are temporary locks (SNOWFLAKE_LOCK,
	// LOCKED_UNTIL_TIME): the user keeps its access, lint lists them.
	SnowflakeLock bool
	LockedUntil   time.Time
	// SecondaryRoles is USERS.DEFAULT_SECONDARY_ROLE read as a role mode: AllRoles
	// for ["ALL"], PrimaryRole for [], "" when the column is absent, NULL (empty)
	// or a value Snowflake does not document, so the configured default applies.
	// SecondaryRaw keeps the value.
	SecondaryRoles RoleMode
	SecondaryRaw   string
}

// Active reports whether the user can sign in: not dropped, not disabled and not
// expired.
func (u *User) Active() bool { return u.DeletedOn.IsZero() && !u.Disabled && !u.Expired }

// Role is a row of roles.csv.
type Role struct {
	Line      int
	Name      string
	Type      string // ROLE, DATABASE_ROLE, …
	Database  string // for database roles
	DeletedOn time.Time
}

// UserGrant is a row of grants_to_users.csv: Role granted to the user Grantee.
type UserGrant struct {
	Line      int
	Role      string
	Grantee   string
	DeletedOn time.Time
}

// RoleGrant is a row of grants_to_roles.csv.
type RoleGrant struct {
	Line        int
	Privilege   string
	GrantedOn   string
	Name        string
	Catalog     string
	Schema      string
	GrantedTo   string
	Grantee     string
	GrantOption bool
	DeletedOn   time.Time
	// Instance is OBJECT_INSTANCE, the class instance (DB.SCHEMA.INSTANCE) an
	// INSTANCE_ROLE row's role belongs to.
	Instance string
}

// TagRef is a row of tag_references.csv.
type TagRef struct {
	TagDatabase, TagSchema, TagName, TagValue string
	ObjectDatabase, ObjectSchema, ObjectName  string
	Column, Domain                            string
}

// PolicyRef is a row of policy_references.csv.
type PolicyRef struct {
	PolicyName, PolicyKind           string
	Database, Schema, Entity, Column string
	// PolicyDatabase and PolicySchema (POLICY_DB, POLICY_SCHEMA) locate the policy;
	// older snapshots qualify POLICY_NAME instead. EntityDomain is REF_ENTITY_DOMAIN:
	// TAG when the policy is set on a tag (Entity then names the tag) rather than on
	// a table, view or column.
	PolicyDatabase, PolicySchema, EntityDomain string
	// TagDatabase, TagSchema and TagName name the tag that brings a tag-based
	// policy to REF_COLUMN_NAME; empty for a policy set on the column itself.
	// Status is POLICY_STATUS (ACTIVE, or why Snowflake cannot apply it).
	TagDatabase, TagSchema, TagName, Status string
}

// PolicyBody is a row of masking_policies.csv, row_access_policies.csv or
// projection_policies.csv: a policy's definition, as ACCOUNT_USAGE keeps it.
type PolicyBody struct {
	Line                   int
	File                   string
	Kind                   string // MASKING_POLICY, ROW_ACCESS_POLICY or PROJECTION_POLICY
	Database, Schema, Name string
	Signature, Body        string
}

// AccessEvent is a row of access_history.csv, an aggregate of ACCESS_HISTORY.
type AccessEvent struct {
	User         string
	ObjectDomain string
	ObjectName   string
	LastAccessed time.Time
	QueryCount   int64
}
