package model

import "iter"

// Change is a row added or removed between two generations.
type Change struct {
	Row
	Added bool `json:"added"`
}

// Diff yields the rows only in b (added) and only in a (removed), in row order. Both
// tables are sorted, so one merge pass suffices and neither is copied.
func Diff(a, b *Access) iter.Seq[Change] {
	return func(yield func(Change) bool) {
		nextA, stopA := iter.Pull(a.All())
		defer stopA()
		nextB, stopB := iter.Pull(b.All())
		defer stopB()
		ra, okA := nextA()
		rb, okB := nextB()
		for okA || okB {
			var c int
			switch {
			case !okA:
				c = 1
			case !okB:
				c = -1
			default:
				c = ra.Compare(rb)
			}
			switch {
			case c < 0:
				if !yield(Change{ra, false}) {
					return
				}
				ra, okA = nextA()
			case c > 0:
				if !yield(Change{rb, true}) {
					return
				}
				rb, okB = nextB()
			default:
				ra, okA = nextA()
				rb, okB = nextB()
			}
		}
	}
}

// DiffCounts counts the rows Diff would yield.
func DiffCounts(a, b *Access) (added, removed int) {
	for c := range Diff(a, b) {
		if c.Added {
			added++
		} else {
			removed++
		}
	}
	return added, removed
}
