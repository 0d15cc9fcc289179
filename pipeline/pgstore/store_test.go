package pgstore

import (
	"testing"

	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) pipeline.Store {
		s, _ := setup(t)
		return s
	})
}
