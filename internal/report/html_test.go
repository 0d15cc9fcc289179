package report

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// chromium finds the headless browser the HTML tests drive. Under CI a missing
// browser fails the test; elsewhere it skips.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed (apt-get install -y chromium); CI must run the HTML tests")
	}
	t.Skip("chromium is not installed; skipping the browser test")
	return ""
}

// artifacts is where a test keeps what a person may want to look at afterwards:
// GRANTMIRROR_TEST_ARTIFACTS when set, else the test's temporary directory.
func artifacts(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("GRANTMIRROR_TEST_ARTIFACTS"); d != "" {
		require.NoError(t, os.MkdirAll(d, 0o755))
		return d
	}
	return t.TempDir()
}

// browse runs headless Chromium once with a fresh profile and returns its stdout
// and its log. The flags keep it off the network and away from the user's state.
func browse(t *testing.T, bin string, args ...string) (stdout, log string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0"}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	require.NoError(t, cmd.Run(), "chromium: %s", errOut.String())
	return out.String(), errOut.String()
}

// requireNoConsole fails on anything the page wrote to the console: the report's
// script logs nothing, so any line is an error or an uncaught exception.
func requireNoConsole(t *testing.T, log string) {
	t.Helper()
	for _, line := range strings.Split(log, "\n") {
		require.False(t, strings.Contains(line, ":CONSOLE") || strings.Contains(line, "Uncaught"), "console output: %s", line)
	}
}

// TestHTMLSelfContained: the page loads nothing from anywhere.
func TestHTMLSelfContained(t *testing.T) {
	t.Parallel()
	page := render(t, setup(t, "acme"), Options{By: ByAll, Format: HTML})
	require.True(t, strings.HasPrefix(page, "<!DOCTYPE html>"))
	require.True(t, strings.HasSuffix(page, "</html>\n"))
	for _, bad := range []string{"<link", " src=", "@import", "fetch(", "XMLHttpRequest"} {
		require.NotContains(t, page, bad)
	}
	// The only absolute URL is the SVG namespace, which is a name, not a request.
	urls := regexp.MustCompile(`https?://[^"' )<]+`).FindAllString(page, -1)
	for _, u := range urls {
		require.Equal(t, "http://www.w3.org/2000/svg", u)
	}
	require.Contains(t, page, "@media print")
	require.Contains(t, page, `<svg xmlns="http://www.w3.org/2000/svg"`)
	// A cell naming several granting roles links each of them.
	require.Regexp(t, `<td><a href="#role-[^"]+">[^<]+</a>, <a href="#role-[^"]+">[^<]+</a>`, page)
}

// TestHTMLInChromium renders acme, the realistic sample, and opens it in a real
// browser: the page must answer "who can read SALES.PUBLIC.ORDERS and why" and
// "what can alice.martin@acme.example reach", run its script without a console
// error, open the section a link points to, and print.
func TestHTMLInChromium(t *testing.T) {
	t.Parallel()
	bin := chromium(t)
	dir := artifacts(t)
	page := filepath.Join(dir, "acme.html")
	require.NoError(t, os.WriteFile(page, []byte(render(t, setup(t, "acme"), Options{By: ByAll, Format: HTML})), 0o644))
	url := "file://" + page

	orders := objectID("ACME", "TABLE", "SALES.PUBLIC.ORDERS")
	alice := personID("ACME", "alice.martin@acme.example")

	dom, log := browse(t, bin, "--virtual-time-budget=5000", "--dump-dom", url+"#"+orders)
	requireNoConsole(t, log)
	require.Contains(t, dom, `data-ready="true"`, "the script ran to its end")
	// The link target is opened by the script.
	require.Regexp(t, `<details class="item" id="`+regexp.QuoteMeta(orders)+`" open="">`, dom)
	// Who can read the table and why: a row naming alice, the privilege, the role
	// that grants it and the path by which she holds that role.
	section := between(t, dom, `id="`+orders+`"`, "</details>")
	require.Contains(t, section, "alice.martin@acme.example</a></td><td>SELECT</td>")
	require.Contains(t, section, "SALES_ANALYST → ANALYST → SALES.READER")
	require.Contains(t, section, "SUPPORT")
	// What alice can reach: her section lists her users, roles and objects.
	mine := between(t, dom, `id="`+alice+`"`, "</details>")
	for _, want := range []string{"AMARTIN", "ALICE_ADMIN", "DATA_ENGINEER", "SALES.PUBLIC.ORDERS", "used 2026-10-31", "RAW.STRIPE.CHARGES"} {
		require.Contains(t, mine, want)
	}
	// Tables got their sort handles and filter boxes from the script.
	require.Contains(t, dom, `class="table-filter"`)
	require.Contains(t, dom, `title="Sort by Person"`)

	shot := filepath.Join(dir, "acme.png")
	_, log = browse(t, bin, "--virtual-time-budget=5000", "--window-size=1400,2000", "--screenshot="+shot, url)
	requireNoConsole(t, log)
	info, err := os.Stat(shot)
	require.NoError(t, err)
	require.Greater(t, info.Size(), int64(20_000), "a blank page compresses to almost nothing")
	t.Logf("screenshot: %s", shot)

	// Two people, so both sections start closed: printing must open them.
	pdf := filepath.Join(dir, "acme-two.pdf")
	small := filepath.Join(dir, "two.html")
	two := Options{By: ByUser, Format: HTML, Emails: []string{"alice.martin@acme.example", "bob.nguyen@acme.example"}}
	require.NoError(t, os.WriteFile(small, []byte(render(t, setup(t, "acme"), two)), 0o644))
	_, log = browse(t, bin, "--virtual-time-budget=5000", "--no-pdf-header-footer", "--print-to-pdf="+pdf, "file://"+small)
	requireNoConsole(t, log)
	b, err := os.ReadFile(pdf)
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(b, []byte("%PDF-")))
	pages := len(regexp.MustCompile(`/Type\s*/Page[^s]`).FindAll(b, -1))
	require.GreaterOrEqual(t, pages, 3, "closed sections print in full, not just their summary lines")
	t.Logf("printed: %s (%d pages)", pdf, pages)
}

// between returns the text after the first from and up to the next to.
func between(t *testing.T, s, from, to string) string {
	t.Helper()
	i := strings.Index(s, from)
	require.GreaterOrEqual(t, i, 0, "%s not found", from)
	j := strings.Index(s[i:], to)
	require.GreaterOrEqual(t, j, 0, "%s not found after %s", to, from)
	return s[i : i+j]
}

// TestHTMLLargeTables: past MaxRows a table is cut or summarized, with a note that
// says exactly what it shows, and the command that writes the table whole.
func TestHTMLLargeTables(t *testing.T) {
	t.Parallel()
	m := setup(t, "acme")
	page := render(t, m, Options{By: ByAccess, Format: HTML, MaxRows: 100})
	total := m.Access.Len()
	require.Greater(t, total, 1000)
	note := "The access table has " + thousands(total) + " rows, more than the 100 one page shows: this is a summary by object type and privilege; the full table: grantmirror report --by access --format csv --out access.csv"
	require.True(t, strings.Contains(page, note), "the note says %q", note)
	require.Contains(t, page, "Summary by object type and privilege")
	require.Less(t, strings.Count(page, "<tr>"), 100)
	require.False(t, strings.Contains(page, "every row"), "no view claims to show what it cuts")
	require.False(t, strings.Contains(page, "xlsx"), "the advice names the format that takes any size")

	// The table whole, to count its rows.
	whole := render(t, m, Options{By: ByObject, Format: HTML, MaxRows: 100000, Objects: []string{"SALES.PUBLIC.ORDERS"}})
	rows := strings.Count(between(t, whole, "<h4>People</h4>", "</table>"), "<tr><td")
	require.Greater(t, rows, 100)
	page = render(t, m, Options{By: ByObject, Format: HTML, MaxRows: 100, Objects: []string{"SALES.PUBLIC.ORDERS"}})
	note = fmt.Sprintf("This table shows the first 100 of %d rows: a page this long would not open; the full table: grantmirror report --by object --object &#39;SALES.PUBLIC.ORDERS&#39; --format csv --out object.csv", rows)
	require.True(t, strings.Contains(page, note), "the note says %q", note)
	require.Equal(t, 100, strings.Count(between(t, page, "<h4>People</h4>", "</table>"), "<tr><td"), "it shows what it says")

	require.Equal(t, "18,661", thousands(18661))
	require.Equal(t, "1,048,575", thousands(1048575))
	require.Equal(t, "999", thousands(999))

	// Under the limit, the access table is there in full.
	page = render(t, m, Options{By: ByAccess, Format: HTML, Emails: []string{"alice.martin@acme.example"}})
	require.NotContains(t, page, "Summary by object type")
	access := between(t, page, `id="view-access"`, `id="view-not-mirrored"`)
	require.Equal(t, len(slices.Collect(m.Access.For("ACME", "alice.martin@acme.example"))), strings.Count(access, "<tr><td"))
	require.Contains(t, page, "row access policy GOVERNANCE.POLICIES.REGION_FILTER", "the report says what is not mirrored")
}
