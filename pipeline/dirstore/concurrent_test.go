package dirstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/pipeline/model"
	"github.com/grantmirror/grantmirror/pipeline/storetest"
)

// TestReadersDuringPublishAndPrune runs readers in a loop (Slice, Open, Scan,
// Changes, Current) while another goroutine publishes two alternating generations
// with --keep 0, so every publish prunes the generation the readers were most
// likely reading. No read may fail, and each must see one whole generation.
func TestReadersDuringPublishAndPrune(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir)
	require.NoError(t, err)
	a, b := storetest.Sample(t, model.Effective), storetest.Sample(t, model.Granted)
	require.NotEqual(t, a.Access.Len(), b.Access.Len())
	opts := model.DefaultPublishOptions()
	opts.Keep, opts.Force = 0, true
	_, err = s.Publish(ctx, a, opts)
	require.NoError(t, err)

	var email, object string
	for r := range a.Access.All() {
		email, object = r.Email, r.ObjectName
	}
	sizes := map[int]bool{a.Access.Len(): true, b.Access.Len(): true}
	want := map[int]*model.Mirror{}
	for _, m := range []*model.Mirror{a, b} {
		want[m.Access.Len()] = model.SliceOf(m, model.Focus{Email: email, Objects: []string{object}})
	}

	const publishes = 40
	var done atomic.Bool
	var reads atomic.Int64
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each reader has its own Store, as separate processes would.
			r, err := Open(dir)
			if err != nil {
				errs <- err
				return
			}
			for !done.Load() {
				var err error
				switch w {
				case 0:
					var m *model.Mirror
					if m, err = r.Open(ctx, 0); err == nil && !sizes[m.Access.Len()] {
						err = fmt.Errorf("open: a mixed generation of %d rows", m.Access.Len())
					}
				case 1:
					n := 0
					if err = r.Scan(ctx, 0, func(model.Row) error { n++; return nil }); err == nil && !sizes[n] {
						err = fmt.Errorf("scan: a mixed generation of %d rows", n)
					}
				case 2:
					if _, err = r.Current(ctx); err == nil {
						var sl *model.Mirror
						if sl, err = r.Slice(ctx, 0, model.Focus{Email: email, Objects: []string{object}}); err == nil {
							w, ok := want[sl.Meta.Rows]
							if !ok || !slices.Equal(slices.Collect(w.Access.All()), slices.Collect(sl.Access.All())) || !reflect.DeepEqual(w.Memberships, sl.Memberships) {
								err = fmt.Errorf("slice of a %d-row generation matches neither", sl.Meta.Rows)
							}
						}
					}
				}
				if err != nil {
					errs <- err
					return
				}
				reads.Add(1)
			}
		}()
	}
	for i := range publishes {
		m := a
		if i%2 == 0 {
			m = b
		}
		_, err := s.Publish(ctx, m, opts)
		require.NoError(t, err)
	}
	done.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Positive(t, reads.Load())

	// Nothing is left behind once the readers are gone: one generation, its
	// files, an empty trash.
	_, err = s.Publish(ctx, a, opts)
	require.NoError(t, err)
	gens, err := os.ReadDir(dir)
	require.NoError(t, err)
	n := 0
	for _, e := range gens {
		if e.IsDir() && len(e.Name()) > len(genPrefix) && e.Name()[:len(genPrefix)] == genPrefix {
			n++
		}
	}
	require.Equal(t, 1, n)
	trash, err := os.ReadDir(filepath.Join(dir, trashDir))
	require.NoError(t, err)
	require.Empty(t, trash)
	requireNoOrphans(t, s)
}
