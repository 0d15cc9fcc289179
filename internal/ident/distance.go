package ident

// Distance is the Levenshtein distance between a and b, in bytes: how many
// insertions, deletions and substitutions turn one into the other. Did-you-mean
// suggestions (commands, flags, config keys, privileges, emails) rank by it.
func Distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Nearest returns the candidate nearest to s when it is near enough to be a typo
// of it: an edit distance of at most a third of s's length (at least 1), or s is
// a prefix of it of three or more characters. Case is ignored; ties go to the
// candidate listed first. It returns "" when nothing is near.
func Nearest(s string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		d := Distance(lower(s), lower(c))
		if len(s) >= 3 && len(c) > len(s) && lower(c[:len(s)]) == lower(s) {
			d = min(d, 1)
		}
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	if bestD < 0 || bestD > max(1, len(s)/3) {
		return ""
	}
	return best
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
