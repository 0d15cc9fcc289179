package model_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/pipeline/model"
)

func TestRedact(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ dsn, want string }{
		{"postgres://gm:s3cret@db:5432/app?sslmode=require", "postgres://gm:xxxxx@db:5432/app?sslmode=require"},
		{"postgresql://gm@db/app", "postgresql://gm@db/app"},
		{"postgres://db/app?user=gm&password=s3cret", "postgres://db/app?password=xxxxx&user=gm"},
		{"postgres://gm:p%40ss@db/app", "postgres://gm:xxxxx@db/app"},
		{"host=db user=gm password=s3cret dbname=app", "host=db user=gm password=xxxxx dbname=app"},
		{`host=db password = 'it\'s s3cret' dbname=app`, "host=db password = xxxxx dbname=app"},
		{"postgres://gm:s3cret@db:5432:6543/app", "postgres://gm:xxxxx@db:5432:6543/app"},
	} {
		t.Run(c.dsn, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, c.want, model.RedactDSN(c.dsn))
		})
	}
}
