package model

import (
	"fmt"
	"slices"
	"strings"

	"github.com/grantmirror/grantmirror/internal/ident"
	"github.com/grantmirror/grantmirror/internal/privilege"
)

// Gap is one policy or grant shape grantmirror did not translate into the mirror,
// with the objects it concerns and what the mirror does instead, so nobody takes
// a fallback for Snowflake's answer.
type Gap struct {
	Account  string   `json:"account"`
	What     string   `json:"what"`     // the policy or grant shape
	Why      string   `json:"why"`      // why it is not translated
	Objects  []string `json:"objects"`  // the objects (or columns) it is on, sorted
	Fallback string   `json:"fallback"` // what the mirror does instead
}

// fallbackText says what a fallback does, for people.
var fallbackText = map[string]string{
	FallbackMask:  "the column is masked for every viewer",
	FallbackDeny:  "no viewer is admitted",
	FallbackAllow: "every viewer the grants admit is admitted, as if there were no policy",
}

// NotMirrored lists what of a generation's Snowflake accounts the mirror does not
// reproduce: policies whose bodies were not translated, policy kinds it does not
// apply, policies that reach every column of an object, grants to applications and
// shares, instance roles it cannot name and secondary-role settings it does not
// know. Gaps come sorted by account, then what.
func NotMirrored(m *Mirror) []Gap {
	type key struct{ account, what, why, fallback string }
	objects := map[key][]string{}
	add := func(k key, object string) { objects[k] = append(objects[k], object) }
	for _, c := range m.Masked {
		obj := c.ObjectName
		if c.Column != "" {
			obj += "." + ident.Part(c.Column)
			if c.Column == "*" {
				obj = c.ObjectName + ".*"
			}
		}
		r := c.Rule
		switch {
		case r == nil && strings.HasPrefix(c.Reason, "masking policy "):
			add(key{c.Account, c.Reason, "the snapshot has no masking policy definitions (masking_policies.csv)",
				"the column is masked except for the viewers a data API admits itself (MaskSet.Unless)"}, obj)
		case r == nil:
		case !r.Translated:
			what := strings.ReplaceAll(r.Kind, "_", " ") + " policy " + r.Policy
			if r.Tag != "" {
				what += " (on tag " + r.Tag + ")"
			}
			add(key{c.Account, what, r.Why, fallbackText[r.Fallback]}, obj)
		case c.Column == "*":
			add(key{c.Account, "masking policy " + r.Policy + " on tag " + r.Tag + " set above the columns",
				"the snapshot does not list the columns the tag reaches", "readers must name the table's columns (MaskSet.Columns); without them loading the masks fails"}, obj)
		}
	}
	if m.Snapshot != nil {
		for _, a := range m.Snapshot.Accounts {
			for i := range a.Policies {
				p := &a.Policies[i]
				if RuleKind(p.PolicyKind) != "" || p.PolicyKind == "" {
					continue
				}
				obj := ident.Join(p.Database, p.Schema, p.Entity)
				if p.Column != "" {
					obj += "." + ident.Part(p.Column)
				}
				add(key{a.Name, strings.ToLower(strings.ReplaceAll(p.PolicyKind, "_", " ")) + " " + PolicyName(p),
					"grantmirror applies masking, row access and projection policies only", "ignored: every viewer the grants admit sees what the grants give"}, obj)
			}
			for i := range a.RoleGrants {
				g := &a.RoleGrants[i]
				if !g.DeletedOn.IsZero() {
					continue
				}
				name := ObjectName(g)
				if name == "" {
					name = ident.Join(g.Catalog, g.Schema, g.Name)
				}
				on := g.Privilege + " on " + g.GrantedOn + " " + name
				switch {
				case g.GrantedTo == "APPLICATION":
					add(key{a.Name, "grants to application " + ident.Part(g.Grantee),
						"an application uses its grants in its own code; people reach the application only through its application roles", "no person holds them"}, on)
				case g.GrantedTo == "SHARE":
					add(key{a.Name, "grants to share " + ident.Part(g.Grantee),
						"a share's grants reach consumer accounts, which this snapshot does not cover", "no person holds them"}, on)
				case g.GrantedTo == "INSTANCE_ROLE" && GranteeRole(g) == "",
					privilege.IsInheritance(g.Privilege, g.GrantedOn) && g.GrantedOn == "INSTANCE_ROLE" && InheritedRole(g) == "":
					add(key{a.Name, "instance roles without their instance",
						"OBJECT_INSTANCE is missing, so the role cannot be told from the same role of other instances", "no person holds them"}, fmt.Sprintf("%s (grants_to_roles.csv:%d)", on, g.Line))
				}
			}
			for i := range a.Users {
				u := &a.Users[i]
				if u.Active() && u.SecondaryRoles == "" && u.SecondaryRaw != "" && !strings.EqualFold(strings.TrimSpace(u.SecondaryRaw), "NULL") {
					add(key{a.Name, "DEFAULT_SECONDARY_ROLE values grantmirror does not know",
						"Snowflake documents [\"ALL\"] and [] only", fmt.Sprintf("the configured --roles %s applies to these users", m.Meta.Roles)}, "user "+u.Name+" ("+u.SecondaryRaw+")")
				}
			}
		}
	}
	out := make([]Gap, 0, len(objects))
	for k, objs := range objects {
		slices.Sort(objs)
		out = append(out, Gap{Account: k.account, What: k.what, Why: k.why, Objects: slices.Compact(objs), Fallback: k.fallback})
	}
	slices.SortFunc(out, func(x, y Gap) int {
		return strings.Compare(x.Account+"\x00"+x.What+"\x00"+x.Why, y.Account+"\x00"+y.What+"\x00"+y.Why)
	})
	return out
}

// String writes a gap on one line, for lint and explain.
func (g Gap) String() string {
	return fmt.Sprintf("%s on %s: %s; %s", g.What, strings.Join(g.Objects, ", "), g.Why, g.Fallback)
}
