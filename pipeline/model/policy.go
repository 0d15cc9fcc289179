package model

import "github.com/grantmirror/grantmirror/internal/ident"

// Policy kinds as a PolicyRule names them.
const (
	MaskingRule    = "masking"
	RowAccessRule  = "row_access"
	ProjectionRule = "projection"
)

// Fallbacks: what a reader gets where a policy was not translated.
const (
	// FallbackMask shows the masked form to everyone (masking policies).
	FallbackMask = "mask"
	// FallbackDeny admits no viewer (row access and projection policies, default).
	FallbackDeny = "deny"
	// FallbackAllow admits every viewer the grants admit, as if there were no policy.
	FallbackAllow = "allow"
)

// PolicyRule is a Snowflake policy as the mirror applies it: who the policy admits
// (sees the clear value, the rows, or may select the column). A viewer is admitted
// when their session holds one of Roles (IS_ROLE_IN_SESSION and
// IS_DATABASE_ROLE_IN_SESSION are true for any role a session holds, inherited ones
// included) or when they are one of Emails, the people whose primary role is one of
// Primary (CURRENT_ROLE() is the primary role only: grantmirror takes it to be the
// user's DEFAULT_ROLE, the role a session starts with, and never a role the user
// could switch to). A policy whose body was not translated admits as Fallback says.
type PolicyRule struct {
	Kind       string   `json:"kind"`
	Policy     string   `json:"policy"`
	Tag        string   `json:"tag,omitempty"` // the tag that carries the policy to the column
	Translated bool     `json:"translated"`
	Roles      []string `json:"roles,omitempty"`
	Primary    []string `json:"primary,omitempty"`
	Emails     []string `json:"emails,omitempty"`
	Fallback   string   `json:"fallback,omitempty"`
	Why        string   `json:"why,omitempty"` // why the body was not translated
}

// PolicyName is the canonical name (DB.SCHEMA.POLICY) of the policy a reference
// names, as far as the reference tells.
func PolicyName(p *PolicyRef) string {
	if p.PolicyDatabase != "" && p.PolicySchema != "" {
		return ident.Join(p.PolicyDatabase, p.PolicySchema, p.PolicyName)
	}
	if parts, err := ident.SplitStored(p.PolicyName); err == nil && len(parts) == 3 {
		return ident.Join(parts...)
	}
	return ident.Part(p.PolicyName)
}

var ruleKinds = map[string]string{"MASKING_POLICY": MaskingRule, "ROW_ACCESS_POLICY": RowAccessRule, "PROJECTION_POLICY": ProjectionRule}

// RuleKind is the PolicyRule kind of a policy reference's POLICY_KIND, "" for
// a kind the mirror does not apply.
func RuleKind(policyKind string) string { return ruleKinds[policyKind] }
