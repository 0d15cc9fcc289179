package snowflake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/snowflakedb/gosnowflake"
	"github.com/stretchr/testify/require"
)

func TestTranslate(t *testing.T) {
	t.Parallel()
	sf := func(n int, args ...any) error {
		return fmt.Errorf("wrapped: %w", &gosnowflake.SnowflakeError{Number: n, SQLState: "08004", Message: "message %v", MessageArgs: args, QueryID: "q1"})
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want error // sentinel the result must match; nil means unclassified
		code int
	}{
		{name: "bad password", err: sf(390100), want: ErrAuth, code: 390100},
		{name: "bad jwt", err: sf(390144), want: ErrAuth, code: 390144},
		{name: "wrong account", err: sf(gosnowflake.ErrCodeFailedToConnect, 403, "url"), want: ErrAuth},
		{name: "not authorized", err: sf(2003), want: ErrPermission, code: 2003},
		{name: "insufficient privileges", err: sf(3001), want: ErrPermission},
		{name: "role not granted", err: sf(390189), want: ErrPermission},
		{name: "statement timeout", err: sf(630), want: ErrTimeout},
		{name: "chunk failed", err: sf(gosnowflake.ErrFailedToGetChunk, 3), want: ErrUnavailable},
		{name: "service unavailable", err: sf(gosnowflake.ErrCodeServiceUnavailable, 503, "url"), want: ErrUnavailable},
		{name: "post failed 502", err: sf(gosnowflake.ErrFailedToPostQuery, 502, "url"), want: ErrUnavailable},
		{name: "post failed 400", err: sf(gosnowflake.ErrFailedToPostQuery, 400, "url"), want: nil, code: gosnowflake.ErrFailedToPostQuery},
		{name: "syntax error", err: sf(1003), want: nil, code: 1003},
		{name: "driver gave up on 503", err: errors.New("timeout after 2m0s and 7 retries. HTTP Status: 503. Hanging?"), want: ErrUnavailable},
		{name: "driver gave up on 404", err: errors.New("timeout after 2m0s and 7 retries. HTTP Status: 404. Hanging?"), want: nil},
		{name: "connection refused", err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}, want: ErrUnavailable},
		{name: "truncated body", err: fmt.Errorf("decode: %w", io.ErrUnexpectedEOF), want: ErrUnavailable},
		{name: "deadline", err: context.DeadlineExceeded, want: ErrTimeout},
		{name: "cancelled", ctx: canceled, err: errors.New("anything"), want: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			got := translate(ctx, tt.err)
			require.Error(t, got)
			if tt.want != nil {
				require.ErrorIs(t, got, tt.want)
			}
			for _, s := range []error{ErrAuth, ErrPermission, ErrTimeout, ErrUnavailable} {
				if s != tt.want {
					require.NotErrorIs(t, got, s)
				}
			}
			if tt.code != 0 {
				var se *Error
				require.ErrorAs(t, got, &se)
				require.Equal(t, tt.code, se.Code)
				require.Equal(t, "q1", se.QueryID)
			}
			require.Equal(t, got, translate(ctx, got), "translating twice changes nothing")
		})
	}
}

func TestErrorMessage(t *testing.T) {
	t.Parallel()
	e := &Error{Code: 2003, SQLState: "02000", QueryID: "01b2", Kind: ErrPermission,
		Message: "SQL compilation error:\nObject 'SNOWFLAKE.ACCOUNT_USAGE.USERS' does not exist or not authorized."}
	require.Equal(t, "permission denied: Snowflake error 002003 (SQL state 02000): SQL compilation error: "+
		"Object 'SNOWFLAKE.ACCOUNT_USAGE.USERS' does not exist or not authorized. [query ID 01b2]", e.Error())
}
