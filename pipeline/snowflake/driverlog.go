package snowflake

import (
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/snowflakedb/gosnowflake"
)

// The driver logs its own errors, in logrus text format, to stderr: a second,
// unstructured stream next to grantmirror's slog output, repeating errors that
// Extract returns anyway. This package is the driver's only importer, so it
// owns that global logger: its lines go to the logger of the latest Extract,
// at debug level.
var (
	driverLogOnce sync.Once
	driverLogger  atomic.Pointer[slog.Logger]
)

func routeDriverLog(l *slog.Logger) {
	driverLogger.Store(l)
	driverLogOnce.Do(func() { gosnowflake.GetLogger().SetOutput(driverLogWriter{}) })
}

type driverLogWriter struct{}

func (driverLogWriter) Write(p []byte) (int, error) {
	if l := driverLogger.Load(); l != nil {
		l.Debug("gosnowflake", "line", strings.TrimSpace(string(p)))
	}
	return len(p), nil
}
