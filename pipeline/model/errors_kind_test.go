package model_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/pipeline/model"
	"github.com/grantmirror/grantmirror/pipeline/pgstore"
	"github.com/grantmirror/grantmirror/pipeline/snowflake"
)

// TestOneTaxonomy: a source's and a target's failures of the same kind match the
// same shared error and keep their own.
func TestOneTaxonomy(t *testing.T) {
	for _, tt := range []struct {
		kind     error
		adapters []error
	}{
		{model.ErrAuth, []error{snowflake.ErrAuth, pgstore.ErrAuth}},
		{model.ErrPermission, []error{snowflake.ErrPermission, pgstore.ErrPermission}},
		{model.ErrUnavailable, []error{snowflake.ErrUnavailable, pgstore.ErrUnreachable}},
		{model.ErrTimeout, []error{snowflake.ErrTimeout}},
		{model.ErrConfig, []error{snowflake.ErrConfig, pgstore.ErrNoDatabase}},
	} {
		for _, a := range tt.adapters {
			err := fmt.Errorf("read snowflake: %w", a)
			require.ErrorIs(t, err, tt.kind, a.Error())
			require.ErrorIs(t, err, a, "the adapter's own error is still there")
			require.NotSame(t, tt.kind, a)
		}
	}
	wrapped := &snowflake.Error{Code: 390100, Kind: snowflake.ErrAuth}
	require.ErrorIs(t, wrapped, model.ErrAuth, "a driver error translated at the boundary")
	require.False(t, errors.Is(pgstore.ErrAuth, model.ErrPermission))
}
