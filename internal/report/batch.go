package report

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/grantmirror/grantmirror/pipeline/model"
)

// batchPeople bounds the people whose memberships a streamed user view holds at
// once. Their roles' grants come with them, and a batch of thousands holds most
// roles of an account, so a batch costs about one read of the grants: larger
// batches read them fewer times, smaller ones hold fewer memberships (at
// 50,000 people, everyone's memberships were 100 MB of a 330 MB report).
const batchPeople = 2000

// batches reads the user view of a whole generation a batch of people at a
// time, in table order, beside one pass of Reader.Scan for their rows.
type batches struct {
	ctx context.Context
	r   model.Reader
	n   int
	// size is the people of a batch.
	size int
	// people are each account's, as Reader.People lists them.
	people map[string][]string
	// known are, per account, the names of every granted object, which access
	// history is matched against as the whole generation matches it
	// (grantedObjects).
	known map[string]map[string]bool
}

// newBatches cuts the people of generation n into batches of src's size
// (batchPeople unless a test sets it), each account's in Reader.People order.
func newBatches(ctx context.Context, src Source, n int, people []model.Person, known map[string]map[string]bool) *batches {
	b := &batches{ctx: ctx, r: src.Reader, n: n, size: cmp.Or(src.batch, batchPeople), people: map[string][]string{}, known: known}
	for _, p := range people {
		b.people[p.Account] = append(b.people[p.Account], p.Email)
	}
	return b
}

// accountsSorted reports whether accounts are listed by name, the order of the
// rows a scan hands out, which the batches of a streamed user view follow.
func accountsSorted(accounts []model.AccountMeta) bool {
	return slices.IsSortedFunc(accounts, func(a, b model.AccountMeta) int { return strings.Compare(a.Name, b.Name) })
}

// slice reads what the user view says of a batch of one account's people
// besides their rows: their memberships, their roles' grants, their own users
// and those users' access history.
func (b *batches) slice(account string, emails []string) (*model.Mirror, *model.Account, error) {
	m, err := b.r.Slice(b.ctx, b.n, model.Focus{Emails: emails, NoPersonRows: true, OwnUsers: true})
	if err != nil {
		return nil, nil, err
	}
	var snap *model.Account
	if m.Snapshot != nil {
		for _, a := range m.Snapshot.Accounts {
			if a.Name == account {
				snap = a
			}
		}
	}
	return m, snap, nil
}

// account indexes one batch of a's people as an account of its own, which
// lists those people only: the slice also holds the memberships of people who
// share a user with them (email aliases), who are listed in their own batch.
func (b *batches) account(md *reportModel, a *account, emails []string) (*account, error) {
	m, snap, err := b.slice(a.meta.Name, emails)
	if err != nil {
		return nil, err
	}
	ba := newAccount(m, a.meta, snap, md.o, b.known[a.meta.Name])
	ba.emails = emails
	ba.selected = make(map[string]bool, len(emails))
	for _, e := range emails {
		ba.selected[e] = true
	}
	return ba, nil
}

// history sets a's access-history totals, which the header states before any
// person is listed, from one pass over the batches: the history of every
// person's users, each user's rows counted once (a user filed under two
// addresses comes with both batches), matched against every granted object.
func (b *batches) history(a *account) error {
	type event struct {
		object string
		at     time.Time
	}
	counted := map[string]bool{}
	var events []event
	for _, batch := range chunks(b.people[a.meta.Name], b.size) {
		_, snap, err := b.slice(a.meta.Name, batch)
		if err != nil {
			return err
		}
		if snap == nil {
			continue
		}
		fresh := map[string]bool{}
		for _, ev := range snap.History {
			u := strings.ToUpper(ev.User)
			if counted[u] {
				continue
			}
			fresh[u] = true
			events = append(events, event{strings.Clone(ev.ObjectName), ev.LastAccessed})
		}
		for u := range fresh {
			counted[u] = true
		}
	}
	u := &usage{byEmail: map[string]map[string]stat{}}
	for _, ev := range events {
		// Every row is of a person's user: the slices keep only theirs.
		u.tally(ev.object, ev.at, true, b.known[a.meta.Name])
	}
	a.usage = u
	return nil
}
