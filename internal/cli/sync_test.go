package cli

import (
	"bytes"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestThousands(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 3375191: "3,375,191", -1234: "-1,234", -123: "-123"} {
		require.Equal(t, want, thousands(n))
	}
}

// syncBuffer is a terminal stand-in the spinner's goroutine and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestProgress drives the progress display through a run: a spinner per
// phase, a summary line per finished phase, log lines on lines of their own,
// and nothing left behind by a phase that fails.
func TestProgress(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	p := &progress{w: &out}
	p.Phase("extract", false)
	p.Rows("extract", 363813)
	p.Phase("extract", true)
	p.Phase("flatten", false)
	_, err := p.Write([]byte("level=INFO msg=flattened\n"))
	require.NoError(t, err)
	p.Rows("flatten", 3375191)
	p.Phase("flatten", true)
	p.Phase("publish", false)
	p.Close()
	p.Close()

	text := out.String()
	// Lines as a terminal shows them: what follows the last carriage return.
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		lines = append(lines, l[strings.LastIndex(l, "\r")+1:])
	}
	require.Regexp(t, regexp.MustCompile(`^extract  363,813 records in \d+(\.\d+)?(ns|µs|ms|s)$`), lines[0])
	require.Equal(t, "level=INFO msg=flattened", lines[1])
	require.Regexp(t, `^flatten  3,375,191 rows in `, lines[2])
	require.Equal(t, "", strings.TrimSpace(lines[3]), "the failed publish leaves a blank line to write on")
	require.Contains(t, text, "publish", "its spinner was drawn")
	require.Len(t, lines, 4)
	require.Nil(t, p.bar)
}

func TestNoProgressWithoutATerminal(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"auto", "text", "json"} {
		var stderr bytes.Buffer
		e := &env{stderr: &stderr, cfg: &Config{LogFormat: format, LogLevel: "info"}}
		require.Nil(t, e.newProgress(), format)
		var p *progress
		p.Phase("extract", false)
		p.Rows("extract", 1)
		p.Close()
		require.Empty(t, stderr.String())
	}
}
