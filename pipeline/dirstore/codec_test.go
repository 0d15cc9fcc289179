package dirstore

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestKeyed writes records under keys in no order, some keys several times
// apart, and finds each key's records, and only those, by binary search.
func TestKeyed(t *testing.T) {
	t.Parallel()
	var k keyed
	want := map[string][]string{}
	for i := range 500 {
		key := fmt.Sprintf("key-%03d", (i*37)%101)
		v := fmt.Sprintf("value-%d", i)
		tb := k.at(key)
		tb.str(v)
		tb.end()
		want[key] = append(want[key], v)
	}
	b := k.bytes()
	r, err := readKeyed(b)
	require.NoError(t, err)
	require.Equal(t, len(want), r.n)
	read := func(tr *tableReader) []string {
		var out []string
		for range tr.n {
			tr.next()
			out = append(out, tr.str())
		}
		require.NoError(t, tr.err("test"))
		return out
	}
	for key, vs := range want {
		tr, err := r.find(key)
		require.NoError(t, err)
		require.NotNil(t, tr, key)
		require.Equal(t, vs, read(tr), key)
	}
	for _, absent := range []string{"", "key-", "key-101", "key-0005", "zzz"} {
		tr, err := r.find(absent)
		require.NoError(t, err)
		require.Nil(t, tr, absent)
	}
	var keys []string
	require.NoError(t, r.each(func(key []byte, tr *tableReader) error {
		keys = append(keys, string(key))
		require.Equal(t, want[string(key)], read(tr))
		return nil
	}))
	require.IsIncreasing(t, keys)
	require.Len(t, keys, len(want))

	// A cut section is refused, never read past its end.
	for _, n := range []int{0, 1, 3, len(b) / 2, len(b) - 1} {
		r, err := readKeyed(b[:n])
		if err == nil {
			_, err = r.find("key-050")
			if err == nil {
				err = r.each(func([]byte, *tableReader) error { return nil })
			}
		}
		require.ErrorIs(t, err, errCorrupt, "cut at %d", n)
	}
}
