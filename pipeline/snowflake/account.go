package snowflake

import (
	"bufio"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/snowflakedb/gosnowflake"
)

// queryTag marks grantmirror's queries in QUERY_HISTORY, so that an account
// admin can see what the job ran and what it cost.
const queryTag = "grantmirror"

// maxDriverRetryWindow bounds how long the driver itself retries 5xx answers
// and dropped connections on one request before grantmirror's own retry takes over.
const maxDriverRetryWindow = 2 * time.Minute

// driverConfig builds the gosnowflake configuration of one account.
func driverConfig(cfg Config, a Account, creds credentials, tr http.RoundTripper) (gosnowflake.Config, error) {
	window := min(cfg.QueryTimeout, maxDriverRetryWindow)
	queryTagValue, timezone := queryTag, "UTC"
	dc := gosnowflake.Config{
		Account:   a.Account,
		User:      a.User,
		Role:      a.Role,
		Warehouse: a.Warehouse,
		Host:      a.Host,
		Port:      a.Port,
		Protocol:  a.Protocol,
		// Session parameters: the query tag, and UTC so that TIMESTAMP_LTZ
		// values render the same whatever the user's default time zone.
		Params: map[string]*string{
			"QUERY_TAG": &queryTagValue,
			"TIMEZONE":  &timezone,
		},
		Application:    "grantmirror",
		LoginTimeout:   window,
		RequestTimeout: window,
		// Telemetry would send the driver's error reports to Snowflake; a
		// security tool keeps its failures to itself.
		DisableTelemetry: true,
		Transporter:      tr,
		// ClientConfigFile stays empty: grantmirror never points the driver at
		// an Easy Logging file (GO-2025-3650). The driver itself still reads
		// SF_CLIENT_CONFIG_FILE or a sf_client_config.json in the home directory.
	}
	switch a.Authenticator {
	case AuthJWT:
		key, err := parsePrivateKey(creds.privateKey, creds.passphrase)
		if err != nil {
			return dc, fmt.Errorf("%w: private key: %w", ErrConfig, err)
		}
		dc.Authenticator = gosnowflake.AuthTypeJwt
		dc.PrivateKey = key
	case AuthPassword:
		dc.Authenticator = gosnowflake.AuthTypeSnowflake
		dc.Password = creds.password
	case AuthOAuth:
		dc.Authenticator = gosnowflake.AuthTypeOAuth
		dc.Token = creds.token
	}
	return dc, nil
}

// accountExtractor reads the views of one account over one session.
type accountExtractor struct {
	cfg  Config
	o    options
	log  *slog.Logger
	tr   *transport
	conn *sql.Conn
}

// extractAccount writes the views of account a into dir, manifest.json last.
func extractAccount(ctx context.Context, cfg Config, a Account, dir string, o options) (AccountResult, error) {
	ar := AccountResult{Name: a.Name, Account: a.Account}
	log := o.log.With("account", a.Name)
	creds, err := a.readCredentials()
	if err != nil {
		return ar, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tr := newTransport(ctx, gosnowflake.SnowflakeTransport, min(cfg.QueryTimeout, maxDriverRetryWindow))
	dc, err := driverConfig(cfg, a, creds, tr)
	if err != nil {
		return ar, err
	}
	db := sql.OpenDB(gosnowflake.NewConnector(gosnowflake.SnowflakeDriver{}, dc))
	defer db.Close()
	db.SetMaxOpenConns(1)

	log.Info("connecting", "config", a)
	x := &accountExtractor{cfg: cfg, o: o, log: log, tr: tr}
	err = retry(ctx, o, "login to "+a.Name, func(int) error {
		conn, err := db.Conn(ctx)
		if err != nil {
			return translate(ctx, err)
		}
		x.conn = conn
		return nil
	})
	if err != nil {
		return ar, fmt.Errorf("login as %s: %w", a.User, err)
	}
	defer x.conn.Close()

	ar.ExtractedAt = o.now().UTC()
	for _, v := range views {
		vr, err := x.extractView(ctx, v, filepath.Join(dir, v.file))
		if col := missingOptional(err, v); col != "" {
			log.Warn("the view lacks a column grantmirror reads; extracting it without its optional columns, which the snapshot leaves unknown",
				"view", v.name, "missing", col, "left_out", v.optional)
			without := v
			without.sql, without.fallback = v.fallback, ""
			tried := vr.Attempts
			vr, err = x.extractView(ctx, without, filepath.Join(dir, v.file))
			vr.Attempts += tried
			if err == nil {
				vr.Omitted = v.optional
			}
		}
		if err != nil {
			if v.required || !errors.Is(err, ErrPermission) {
				return ar, fmt.Errorf("read SNOWFLAKE.ACCOUNT_USAGE.%s%s: %w", v.name, hint(err), err)
			}
			vr = ViewResult{View: v.name, File: v.file, Missing: true, Reason: err.Error(), Attempts: vr.Attempts}
			log.Warn("optional view not readable; its file is left out of the snapshot",
				"view", v.name, "file", v.file, "error", err)
		}
		ar.Views = append(ar.Views, vr)
	}
	if err := writeManifest(dir, a, cfg, ar); err != nil {
		return ar, fmt.Errorf("write manifest: %w", err)
	}
	return ar, nil
}

// missingOptional returns the optional column of v that Snowflake reported as an
// invalid identifier in err, or "" when err is anything else or v has no query
// without its optional columns. Snowflake quotes the identifier as the query
// spelled it: bare for the unquoted names the queries use.
func missingOptional(err error, v view) string {
	var se *Error
	if v.fallback == "" || !errors.As(err, &se) || se.Code != codeInvalidIdentifier {
		return ""
	}
	msg := strings.ToUpper(se.Message)
	for _, c := range v.optional {
		if strings.Contains(msg, "INVALID IDENTIFIER '"+c+"'") || strings.Contains(msg, `INVALID IDENTIFIER '"`+c+`"'`) {
			return c
		}
	}
	return ""
}

// hint adds what to do about a permission error on a required view.
func hint(err error) string {
	if !errors.Is(err, ErrPermission) {
		return ""
	}
	return " (required; the role needs IMPORTED PRIVILEGES on database SNOWFLAKE, or the database role SNOWFLAKE.SECURITY_VIEWER)"
}

// extractView writes one view to path, retrying transient failures.
func (x *accountExtractor) extractView(ctx context.Context, v view, path string) (ViewResult, error) {
	vr := ViewResult{View: v.name, File: v.file}
	start := x.o.now()
	err := retry(ctx, x.o, v.name, func(attempt int) error {
		vr.Attempts = attempt
		qctx, cancel := context.WithTimeout(ctx, x.cfg.QueryTimeout)
		defer cancel()
		st, err := x.readView(qctx, v, path)
		if err != nil {
			os.Remove(path)
			return translate(qctx, err)
		}
		vr.Rows, vr.Format, vr.Batches = st.rows, st.format, st.batches
		return nil
	})
	vr.Duration = x.o.now().Sub(start)
	if err != nil {
		return vr, err
	}
	x.log.Info("view extracted", "view", v.name, "rows", vr.Rows, "format", vr.Format, "batches", vr.Batches, "duration", vr.Duration)
	return vr, nil
}

type viewStats struct {
	rows    int64
	format  string
	batches int
}

// readView runs the view's query and streams its result into a CSV file.
func (x *accountExtractor) readView(ctx context.Context, v view, path string) (viewStats, error) {
	var st viewStats
	f, err := os.Create(path)
	if err != nil {
		return st, err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 256<<10)
	w := csv.NewWriter(bw)

	var args []driver.NamedValue
	if v.history {
		args = []driver.NamedValue{{Ordinal: 1, Value: int64(x.cfg.HistoryDays)}}
	}
	err = x.conn.Raw(func(dc any) error {
		q, ok := dc.(driver.QueryerContext)
		if !ok {
			return fmt.Errorf("driver connection %T cannot run queries", dc)
		}
		var err error
		st, err = x.query(ctx, q, v, args, w)
		return err
	})
	if err != nil {
		return st, err
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return st, err
	}
	if err := bw.Flush(); err != nil {
		return st, err
	}
	if err := f.Sync(); err != nil {
		return st, err
	}
	return st, f.Close()
}

// query runs one view's query asking for Arrow batches, then writes the result:
// batch by batch when Snowflake answered Arrow, row by row when it answered
// JSON (the driver would otherwise hand back no batches, silently). Either way
// the rows written must add up to the total Snowflake announced.
func (x *accountExtractor) query(ctx context.Context, q driver.QueryerContext, v view, args []driver.NamedValue, w *csv.Writer) (viewStats, error) {
	var st viewStats
	rows, err := q.QueryContext(gosnowflake.WithArrowBatches(ctx), v.sql, args)
	if err != nil {
		return st, err
	}
	defer rows.Close()
	sf, ok := rows.(gosnowflake.SnowflakeRows)
	if !ok {
		return st, fmt.Errorf("%w: the driver returned %T, not Snowflake rows", ErrResult, rows)
	}
	qid := sf.GetQueryID()
	meta, ok := x.tr.take(qid)
	if !ok {
		return st, fmt.Errorf("%w: no result metadata seen for query %s", ErrResult, qid)
	}
	cols := rows.Columns()
	if len(cols) == 0 {
		return st, fmt.Errorf("%w: the result has no columns [query ID %s]", ErrResult, qid)
	}
	if err := w.Write(cols); err != nil {
		return st, err
	}
	st.format = meta.format
	switch meta.format {
	case "arrow":
		st.rows, st.batches, err = x.writeArrow(ctx, sf, w, len(cols))
	case "json":
		x.log.Warn("Snowflake answered JSON instead of Arrow; reading the result row by row, which is slower",
			"view", v.name, "query_id", qid, "rows", meta.total)
		rows.Close()
		st.rows, err = x.writeJSON(ctx, q, qid, w, len(cols))
	default:
		return st, fmt.Errorf("%w: result format %q [query ID %s]", ErrResult, meta.format, qid)
	}
	if err != nil {
		return st, err
	}
	if st.rows != meta.total {
		return st, fmt.Errorf("%w: read %d rows but Snowflake announced %d [query ID %s]", ErrResult, st.rows, meta.total, qid)
	}
	return st, nil
}

// fetched is one downloaded Arrow batch.
type fetched struct {
	recs *[]arrow.Record
	err  error
}

// writeArrow streams the Arrow batches of a result into w, in order. Up to
// o.prefetch batches download ahead of the one being written; each is released
// once written, so memory holds a few chunks, never the whole result.
func (x *accountExtractor) writeArrow(ctx context.Context, sf gosnowflake.SnowflakeRows, w *csv.Writer, ncols int) (int64, int, error) {
	batches, err := sf.GetArrowBatches()
	if err != nil {
		return 0, 0, err
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		// Downloads still running share the driver's connection state: wait for
		// them before the session moves on to another query.
		cancel()
		wg.Wait()
	}()
	results := make([]chan fetched, len(batches))
	for i := range results {
		results[i] = make(chan fetched, 1)
	}
	slots := make(chan struct{}, x.o.prefetch)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i, b := range batches {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				recs, err := b.WithContext(ctx).Fetch()
				results[i] <- fetched{recs, err}
			}()
		}
	}()

	var n int64
	buf := make([]string, ncols)
	for i := range batches {
		var r fetched
		select {
		case r = <-results[i]:
		case <-ctx.Done():
			return n, i, ctx.Err()
		}
		if r.err != nil {
			return n, i, r.err
		}
		if r.recs != nil {
			for j, rec := range *r.recs {
				k, err := writeRecord(w, rec, buf)
				n += k
				rec.Release()
				(*r.recs)[j] = nil
				if err != nil {
					return n, i, err
				}
			}
			// The driver keeps a pointer to this slice: emptying it lets the
			// written records be collected.
			*r.recs = nil
		}
		<-slots
	}
	return n, len(batches), nil
}

// writeJSON reads a result Snowflake sent as JSON, fetching it again by query
// ID in row mode rather than running the query twice.
func (x *accountExtractor) writeJSON(ctx context.Context, q driver.QueryerContext, qid string, w *csv.Writer, ncols int) (int64, error) {
	rows, err := q.QueryContext(gosnowflake.WithFetchResultByID(ctx, qid), "", nil)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	x.tr.take(qid)
	if got := len(rows.Columns()); got != ncols {
		return 0, fmt.Errorf("%w: refetched result has %d columns, first answer %d [query ID %s]", ErrResult, got, ncols, qid)
	}
	dest := make([]driver.Value, ncols)
	buf := make([]string, ncols)
	var n int64
	for {
		err := rows.Next(dest)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		for j, v := range dest {
			if buf[j], err = formatValue(v); err != nil {
				return n, fmt.Errorf("column %s: %w", rows.Columns()[j], err)
			}
		}
		if err := w.Write(buf); err != nil {
			return n, err
		}
		n++
	}
}
