package snowflake

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

// Source is the live Snowflake source of a sync. Load extracts every account
// into a temporary snapshot directory and reads it back with
// pipeline.ReadSnapshot, the same code that replays a snapshot directory, so a
// live sync and a replayed one differ only in where the files came from.
type Source struct {
	Config  Config
	Options []Option
	// TempDir is where the temporary snapshot is written; empty means the
	// system's temporary directory. The snapshot is removed after reading.
	TempDir string
	// OnResult, when set, receives what each Load extracted, e.g. to report
	// skipped accounts.
	OnResult func(Result)
}

var _ pipeline.Source = (*Source)(nil)

// Load extracts the configured accounts and reads them as a snapshot.
func (s *Source) Load(ctx context.Context) (*model.Snapshot, error) {
	tmp, err := os.MkdirTemp(s.TempDir, "grantmirror-snowflake-*")
	if err != nil {
		return nil, fmt.Errorf("create temporary directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	res, err := Extract(ctx, s.Config, filepath.Join(tmp, "snapshot"), s.Options...)
	if err != nil {
		return nil, err
	}
	if s.OnResult != nil {
		s.OnResult(res)
	}
	snap, err := pipeline.ReadSnapshot(res.Dir)
	if err != nil {
		return nil, fmt.Errorf("read extracted snapshot: %w", err)
	}
	return snap, nil
}

// String names the source by its accounts, without secrets.
func (s *Source) String() string {
	cfg := s.Config.WithDefaults()
	names := make([]string, len(cfg.Accounts))
	for i, a := range cfg.Accounts {
		names[i] = a.Name
	}
	return "snowflake:" + strings.Join(names, ",")
}
