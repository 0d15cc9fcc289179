package pipeline

import (
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/grantmirror/grantmirror/internal/ident"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// condition is a translated policy condition: who satisfies it.
type condition struct {
	roles   []string // held in session
	primary []string // the primary role
}

func (c *condition) or(d condition) {
	c.roles = append(c.roles, d.roles...)
	c.primary = append(c.primary, d.primary...)
}

// TranslatePolicy translates a policy body into the roles it admits. It understands
// the shapes policies are usually written in:
//
//	CASE WHEN <cond> THEN <arg> [WHEN <cond> THEN <arg>] ELSE <anything> END   (masking)
//	<cond>  or  CASE WHEN <cond> THEN TRUE … ELSE FALSE END                     (row access)
//	CASE WHEN <cond> THEN PROJECTION_CONSTRAINT(ALLOW => TRUE) ELSE … (ALLOW => FALSE) END
//
// where <cond> is CURRENT_ROLE() IN ('…', …), CURRENT_ROLE() = '…',
// IS_ROLE_IN_SESSION('…') or IS_DATABASE_ROLE_IN_SESSION('…'), joined by OR. A
// masking branch that returns anything but the argument unchanged counts as masked;
// branches that unmask must come before any that mask, or the order would decide.
// Anything else is not translated, and the error says why.
func TranslatePolicy(kind, signature, body string) (roles, primary []string, err error) {
	toks, err := tokenize(body)
	if err != nil {
		return nil, nil, err
	}
	p := &policyParser{toks: toks, kind: kind, arg: signatureArg(signature)}
	c, err := p.body()
	if err != nil {
		return nil, nil, err
	}
	slices.Sort(c.roles)
	slices.Sort(c.primary)
	return slices.Compact(c.roles), slices.Compact(c.primary), nil
}

// signatureArg is the first argument's name of a POLICY_SIGNATURE such as
// "(VAL VARCHAR)", upper-cased; "" when unknown.
func signatureArg(sig string) string {
	sig = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(sig), "("))
	f := strings.FieldsFunc(sig, func(r rune) bool { return unicode.IsSpace(r) || r == ',' || r == ')' })
	if len(f) == 0 {
		return ""
	}
	return strings.ToUpper(strings.Trim(f[0], `"`))
}

type token struct {
	kind byte // 'w' word, 's' string literal, 'p' punctuation
	text string
}

func tokenize(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '-' && i+1 < len(s) && s[i+1] == '-':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '\'':
			var b strings.Builder
			i++
			closed := false
			for i < len(s) {
				if s[i] == '\'' {
					if i+1 < len(s) && s[i+1] == '\'' {
						b.WriteByte('\'')
						i += 2
						continue
					}
					i++
					closed = true
					break
				}
				b.WriteByte(s[i])
				i++
			}
			if !closed {
				return nil, fmt.Errorf("unterminated string literal")
			}
			out = append(out, token{'s', b.String()})
		case c == '=' && i+1 < len(s) && s[i+1] == '>':
			out = append(out, token{'p', "=>"})
			i += 2
		case strings.IndexByte("(),=", c) >= 0:
			out = append(out, token{'p', string(c)})
			i++
		case c == '_' || c == '$' || c == '.' || c == '"' || c < 0x80 && (unicode.IsLetter(rune(c)) || unicode.IsDigit(rune(c))) || c >= 0x80:
			j := i
			for j < len(s) {
				d := s[j]
				if d == '"' {
					k := strings.IndexByte(s[j+1:], '"')
					if k < 0 {
						return nil, fmt.Errorf("unterminated quoted identifier")
					}
					j += k + 2
					continue
				}
				if d == '_' || d == '$' || d == '.' || d >= 0x80 || unicode.IsLetter(rune(d)) || unicode.IsDigit(rune(d)) {
					j++
					continue
				}
				break
			}
			out = append(out, token{'w', s[i:j]})
			i = j
		default:
			// Operators and the like: kept as punctuation, which the conditions
			// reject and the value a masking branch returns may contain.
			out = append(out, token{'p', string(c)})
			i++
		}
	}
	return out, nil
}

type policyParser struct {
	toks []token
	pos  int
	kind string
	arg  string
}

func (p *policyParser) peekWord(w string) bool {
	return p.pos < len(p.toks) && p.toks[p.pos].kind == 'w' && strings.EqualFold(p.toks[p.pos].text, w)
}

func (p *policyParser) peekPunct(s string) bool {
	return p.pos < len(p.toks) && p.toks[p.pos].kind == 'p' && p.toks[p.pos].text == s
}

func (p *policyParser) word(w string) error {
	if !p.peekWord(w) {
		return p.unexpected("want " + w)
	}
	p.pos++
	return nil
}

func (p *policyParser) punct(s string) error {
	if !p.peekPunct(s) {
		return p.unexpected("want " + s)
	}
	p.pos++
	return nil
}

func (p *policyParser) unexpected(want string) error {
	if p.pos >= len(p.toks) {
		return fmt.Errorf("the body ends early (%s)", want)
	}
	return fmt.Errorf("%q is beyond the policy shapes grantmirror translates (%s)", p.toks[p.pos].text, want)
}

func (p *policyParser) str() (string, error) {
	if p.pos >= len(p.toks) || p.toks[p.pos].kind != 's' {
		return "", p.unexpected("want a role name in quotes")
	}
	p.pos++
	return p.toks[p.pos-1].text, nil
}

func (p *policyParser) done() error {
	if p.pos != len(p.toks) {
		return p.unexpected("want the end of the body")
	}
	return nil
}

func (p *policyParser) body() (condition, error) {
	if !p.peekWord("CASE") {
		if p.kind != model.RowAccessRule {
			return condition{}, p.unexpected("want CASE WHEN")
		}
		c, err := p.cond()
		if err != nil {
			return c, err
		}
		return c, p.done()
	}
	p.pos++
	var admit condition
	masked := false // a branch that does not admit has been seen
	for p.peekWord("WHEN") {
		p.pos++
		c, err := p.cond()
		if err != nil {
			return c, err
		}
		if err := p.word("THEN"); err != nil {
			return c, err
		}
		ok, err := p.result()
		if err != nil {
			return c, err
		}
		switch {
		case ok && masked:
			return c, fmt.Errorf("a branch that reveals comes after one that hides, so the order of the roles decides")
		case ok:
			admit.or(c)
		default:
			masked = true
		}
	}
	if len(admit.roles)+len(admit.primary) == 0 && !masked {
		return admit, p.unexpected("want WHEN")
	}
	if err := p.word("ELSE"); err != nil {
		return admit, err
	}
	ok, err := p.result()
	if err != nil {
		return admit, err
	}
	if ok {
		return admit, fmt.Errorf("the ELSE branch reveals to every role")
	}
	if err := p.word("END"); err != nil {
		return admit, err
	}
	return admit, p.done()
}

// result reads a THEN or ELSE value and reports whether it admits: the argument
// itself (masking), TRUE (row access), PROJECTION_CONSTRAINT(ALLOW => TRUE).
func (p *policyParser) result() (bool, error) {
	switch p.kind {
	case model.RowAccessRule:
		switch {
		case p.peekWord("TRUE"):
			p.pos++
			return true, nil
		case p.peekWord("FALSE"):
			p.pos++
			return false, nil
		}
		return false, p.unexpected("want TRUE or FALSE")
	case model.ProjectionRule:
		if err := p.word("PROJECTION_CONSTRAINT"); err != nil {
			return false, err
		}
		if err := p.punct("("); err != nil {
			return false, err
		}
		if err := p.word("ALLOW"); err != nil {
			return false, err
		}
		if err := p.punct("=>"); err != nil {
			return false, err
		}
		allow := p.peekWord("TRUE")
		if !allow && !p.peekWord("FALSE") {
			return false, p.unexpected("want TRUE or FALSE")
		}
		p.pos++
		if p.peekPunct(",") {
			return false, p.unexpected("want ) after ALLOW")
		}
		return allow, p.punct(")")
	}
	// Masking: the bare argument reveals; any other expression (a literal, NULL, a
	// function call) hides. Skip an expression up to the next WHEN, ELSE or END at
	// depth zero.
	if p.pos < len(p.toks) && p.toks[p.pos].kind == 'w' && (p.arg == "" || strings.EqualFold(strings.Trim(p.toks[p.pos].text, `"`), p.arg)) &&
		p.pos+1 < len(p.toks) && p.toks[p.pos+1].kind == 'w' && isBranchEnd(p.toks[p.pos+1].text) && !isKeyword(p.toks[p.pos].text) {
		p.pos++
		return true, nil
	}
	depth, start := 0, p.pos
	for p.pos < len(p.toks) {
		t := p.toks[p.pos]
		switch {
		case t.kind == 'p' && t.text == "(":
			depth++
		case t.kind == 'p' && t.text == ")":
			depth--
		case t.kind == 'w' && strings.EqualFold(t.text, "CASE"):
			return false, p.unexpected("a nested CASE")
		case t.kind == 'w' && depth == 0 && isBranchEnd(t.text):
			if p.pos == start {
				return false, p.unexpected("want a value")
			}
			return false, nil
		}
		p.pos++
	}
	return false, p.unexpected("want END")
}

func isBranchEnd(w string) bool {
	return strings.EqualFold(w, "WHEN") || strings.EqualFold(w, "ELSE") || strings.EqualFold(w, "END")
}

func isKeyword(w string) bool {
	switch strings.ToUpper(w) {
	case "NULL", "TRUE", "FALSE", "CASE", "WHEN", "THEN", "ELSE", "END":
		return true
	}
	return false
}

// cond reads atoms joined by OR.
func (p *policyParser) cond() (condition, error) {
	var c condition
	for {
		a, err := p.atom()
		if err != nil {
			return c, err
		}
		c.or(a)
		if !p.peekWord("OR") {
			return c, nil
		}
		p.pos++
	}
}

func (p *policyParser) atom() (condition, error) {
	switch {
	case p.peekWord("CURRENT_ROLE"):
		p.pos++
		if err := p.punct("("); err != nil {
			return condition{}, err
		}
		if err := p.punct(")"); err != nil {
			return condition{}, err
		}
		var names []string
		switch {
		case p.peekPunct("="):
			p.pos++
			s, err := p.str()
			if err != nil {
				return condition{}, err
			}
			names = append(names, s)
		case p.peekWord("IN"):
			p.pos++
			if err := p.punct("("); err != nil {
				return condition{}, err
			}
			for {
				s, err := p.str()
				if err != nil {
					return condition{}, err
				}
				names = append(names, s)
				if !p.peekPunct(",") {
					break
				}
				p.pos++
			}
			if err := p.punct(")"); err != nil {
				return condition{}, err
			}
		default:
			return condition{}, p.unexpected("want IN or = after CURRENT_ROLE()")
		}
		var c condition
		for _, n := range names {
			// CURRENT_ROLE() returns the name as stored, so the literal compares
			// exactly: it is the role's raw name.
			c.primary = append(c.primary, ident.Part(n))
		}
		return c, nil
	case p.peekWord("IS_ROLE_IN_SESSION"), p.peekWord("IS_DATABASE_ROLE_IN_SESSION"):
		database := p.peekWord("IS_DATABASE_ROLE_IN_SESSION")
		p.pos++
		if err := p.punct("("); err != nil {
			return condition{}, err
		}
		s, err := p.str()
		if err != nil {
			return condition{}, err
		}
		if err := p.punct(")"); err != nil {
			return condition{}, err
		}
		if !database {
			return condition{roles: []string{ident.Part(s)}}, nil
		}
		parts, err := ident.SplitStored(s)
		if err != nil || len(parts) != 2 {
			return condition{}, fmt.Errorf("IS_DATABASE_ROLE_IN_SESSION(%q) does not name a database role as DB.ROLE", s)
		}
		return condition{roles: []string{ident.Join(parts...)}}, nil
	}
	return condition{}, p.unexpected("want CURRENT_ROLE(), IS_ROLE_IN_SESSION or IS_DATABASE_ROLE_IN_SESSION")
}

// policyRules translates an account's policies once each.
type policyRules struct {
	a        *model.Account
	fallback string
	primary  map[string][]string
	bodies   map[string]*model.PolicyBody // kind + "\x00" + canonical name
	byName   map[string][]*model.PolicyBody
	done     map[string]*model.PolicyRule
}

func newPolicyRules(a *model.Account, fallback string, primary map[string][]string) *policyRules {
	r := &policyRules{a: a, fallback: fallback, primary: primary, bodies: map[string]*model.PolicyBody{}, byName: map[string][]*model.PolicyBody{}, done: map[string]*model.PolicyRule{}}
	for i := range a.Bodies {
		b := &a.Bodies[i]
		r.bodies[b.Kind+"\x00"+ident.Join(b.Database, b.Schema, b.Name)] = b
		r.byName[b.Kind+"\x00"+ident.Part(b.Name)] = append(r.byName[b.Kind+"\x00"+ident.Part(b.Name)], b)
	}
	return r
}

// rule returns the rule of the policy a reference names, or nil for a masking
// policy when the snapshot holds no masking policy definitions at all (readers
// then apply their own unmask conditions, as before definitions were extracted).
func (r *policyRules) rule(p model.PolicyRef, tag string) *model.PolicyRule {
	kind := model.RuleKind(p.PolicyKind)
	name := model.PolicyName(&p)
	if kind == model.MaskingRule && !r.a.BodiesOf[p.PolicyKind] {
		return nil
	}
	key := p.PolicyKind + "\x00" + name + "\x00" + tag + "\x00" + p.Status
	if rule, ok := r.done[key]; ok {
		return rule
	}
	rule := &model.PolicyRule{Kind: kind, Policy: name, Tag: tag}
	r.done[key] = rule
	body := r.bodies[p.PolicyKind+"\x00"+name]
	if body == nil && !strings.Contains(name, ".") {
		if l := r.byName[p.PolicyKind+"\x00"+name]; len(l) == 1 {
			body = l[0]
		}
	}
	var err error
	switch {
	case p.Status != "" && p.Status != "ACTIVE":
		// Snowflake cannot apply the policy as assigned (several masking policies
		// on one column, a missing argument column): queries of the column fail.
		err = fmt.Errorf("Snowflake reports the assignment as %s", p.Status)
	case !r.a.BodiesOf[p.PolicyKind]:
		err = fmt.Errorf("the snapshot has no %s definitions", strings.ToLower(strings.ReplaceAll(p.PolicyKind, "_", " ")))
	case body == nil:
		err = fmt.Errorf("its definition is not in the snapshot")
	default:
		rule.Roles, rule.Primary, err = TranslatePolicy(kind, body.Signature, body.Body)
	}
	if err != nil {
		rule.Roles, rule.Primary = nil, nil
		rule.Why = err.Error()
		rule.Fallback = r.fallback
		if kind == model.MaskingRule {
			rule.Fallback = model.FallbackMask
		}
		return rule
	}
	rule.Translated = true
	for _, role := range rule.Primary {
		rule.Emails = append(rule.Emails, r.primary[role]...)
	}
	slices.Sort(rule.Emails)
	rule.Emails = slices.Compact(rule.Emails)
	return rule
}
