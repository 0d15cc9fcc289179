package pgstore

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/grantmirror/grantmirror/pipeline/model"
	gmsql "github.com/grantmirror/grantmirror/sql"
)

// DefaultSchema is the schema a store uses when Options leave it empty.
const DefaultSchema = "grantmirror"

// Defaults of Options.
const (
	defaultLockTimeout    = 5 * time.Second
	defaultConnectTimeout = 10 * time.Second
	// DefaultHistoryDays is how long the access history keeps a row after it was
	// removed, when Options leave HistoryDays zero.
	DefaultHistoryDays = 365
)

// Options configure a Postgres target.
type Options struct {
	// Schema holds every table and view of the target; default "grantmirror". It
	// must be a lowercase identifier (letters, digits, underscores), so that it
	// means the same quoted or not: goose names its version table unquoted.
	Schema string
	// Logger receives progress and warnings; nil discards them.
	Logger *slog.Logger
	// LockTimeout bounds how long a statement of the publish transaction waits
	// for a lock; default 5s. Readers take none it waits for (a publish changes
	// rows, never the views), so only a session that locks grantmirror's tables
	// explicitly makes it wait. A publish that times out is retried twice, with a
	// warning in the log, then fails.
	LockTimeout time.Duration
	// HistoryDays is how many days the access history keeps a row after it was
	// removed; older rows are deleted at publish, and moments before them can no
	// longer be answered. Zero means DefaultHistoryDays.
	HistoryDays int
	// Actor names who publishes and rolls back in the audit log (a person, or the
	// job); empty records the database user.
	Actor string
	// Now is the clock of history, audit and local-grant bookkeeping; nil means
	// time.Now. The access view judges expiry by the database's clock (see
	// sql/postgres/migrations/00002_history_and_local_grants.sql).
	Now func() time.Time
}

// Store is a Postgres target. It is safe for concurrent use; concurrent publishes
// (from this process or another) are serialized by an advisory lock.
type Store struct {
	pool        *pgxpool.Pool
	schema      string // validated, bare
	quoted      string // schema as a quoted identifier, for SQL text
	target      string // the DSN with its password redacted
	password    string // scrubbed from every error message
	log         *slog.Logger
	lockTimeout time.Duration
	publishKey  int64
	migrateKey  int64
	grantKey    int64
	historyDays int
	actor       string
	now         func() time.Time
	queries     map[string]string

	// failpoint, when set, is called at each step of Publish; an error aborts the
	// publish there, as a crash would. Tests use it to prove crash safety.
	failpoint func(ctx context.Context, step string) error
}

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// validSchema accepts lowercase identifiers Postgres lets a user create.
func validSchema(s string) error {
	if !schemaName.MatchString(s) || strings.HasPrefix(s, "pg_") {
		return fmt.Errorf("%w: schema %q: want lowercase letters, digits and underscores, starting with a letter or underscore, at most 63 characters and not starting with pg_", model.ErrTarget, s)
	}
	return nil
}

// latestVersion is the newest migration this binary knows.
var latestVersion = func() int64 {
	entries, err := fs.ReadDir(gmsql.Postgres, "postgres/migrations")
	if err != nil {
		panic(fmt.Sprintf("embedded migrations: %v", err))
	}
	var max int64
	for _, e := range entries {
		num, _, _ := strings.Cut(e.Name(), "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			panic(fmt.Sprintf("embedded migration %s: want NNNNN_name.sql", e.Name()))
		}
		max = v
	}
	return max
}()

// lockKey derives an advisory lock key from the schema, so that targets in
// different schemas of one database never wait for each other.
func lockKey(purpose, schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("grantmirror " + purpose + " " + schema))
	return int64(h.Sum64())
}

// Open connects to the database dsn names (a URL or keyword/value string) and
// checks the schema: a schema migrated by a newer grantmirror is refused with
// ErrSchemaTooNew. Open changes nothing; Migrate creates or upgrades the schema,
// and Publish, Rollback and RecordRun migrate on first use.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	if opts.Schema == "" {
		opts.Schema = DefaultSchema
	}
	if err := validSchema(opts.Schema); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = defaultLockTimeout
	}
	if opts.HistoryDays < 0 {
		return nil, fmt.Errorf("%w: history days %d: want 0 (the default, %d) or more", model.ErrTarget, opts.HistoryDays, DefaultHistoryDays)
	}
	if opts.HistoryDays == 0 {
		opts.HistoryDays = DefaultHistoryDays
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	target := model.RedactDSN(dsn)
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		msg := strings.ReplaceAll(err.Error(), dsn, target)
		return nil, fmt.Errorf("%w: %s", model.ErrTarget, msg)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "grantmirror"
	}
	// The store's statements each touch few rows through indexes, but the
	// planner's estimates for the comparisons of a publish are large enough to
	// trigger JIT compilation, which costs a second or more and saves nothing.
	if _, ok := cfg.ConnConfig.RuntimeParams["jit"]; !ok {
		cfg.ConnConfig.RuntimeParams["jit"] = "off"
	}
	s := &Store{
		schema:      opts.Schema,
		quoted:      pgx.Identifier{opts.Schema}.Sanitize(),
		target:      target,
		password:    cfg.ConnConfig.Password,
		log:         opts.Logger.With("target", target, "schema", opts.Schema),
		lockTimeout: opts.LockTimeout,
		publishKey:  lockKey("publish", opts.Schema),
		migrateKey:  lockKey("migrate", opts.Schema),
		grantKey:    lockKey("grants", opts.Schema),
		historyDays: opts.HistoryDays,
		actor:       opts.Actor,
		now:         opts.Now,
	}
	if s.queries, err = loadQueries(s.quoted); err != nil {
		return nil, err
	}
	if s.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, fmt.Errorf("connect to %s: %w", target, translate(err, s.password))
	}
	if err := s.pool.Ping(ctx); err != nil {
		s.pool.Close()
		return nil, fmt.Errorf("connect to %s: %w", target, translate(err, s.password))
	}
	v, err := s.schemaVersion(ctx, s.pool)
	if err == nil && v > latestVersion {
		err = s.tooNew(v)
	}
	if err != nil {
		s.pool.Close()
		return nil, translate(err, s.password)
	}
	return s, nil
}

// Close closes the store's connections.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// String names the target for logs, without its password.
func (s *Store) String() string { return s.target + " (schema " + s.schema + ")" }

// boundary translates the error an exported method returns; every exported
// method defers it.
func (s *Store) boundary(err *error) {
	*err = translate(*err, s.password)
}

func (s *Store) tooNew(v int64) error {
	return fmt.Errorf("%w: schema %s is at version %d, this grantmirror knows up to %d; upgrade grantmirror", ErrSchemaTooNew, s.schema, v, latestVersion)
}

// querier is what a pool, a connection and a transaction have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// loadQueries reads the named statements of sql/postgres with the schema filled in.
func loadQueries(quoted string) (map[string]string, error) {
	entries, err := fs.ReadDir(gmsql.Postgres, "postgres")
	if err != nil {
		return nil, err
	}
	qs := map[string]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		b, err := fs.ReadFile(gmsql.Postgres, path.Join("postgres", e.Name()))
		if err != nil {
			return nil, err
		}
		qs[strings.TrimSuffix(e.Name(), ".sql")] = strings.ReplaceAll(string(b), "{{schema}}", quoted)
	}
	return qs, nil
}

// vars fills the generation placeholders of a statement: {{gen}}, {{prev}}.
type vars map[string]int

// stmt returns the named statement with its placeholders filled. Only integers
// are spliced in; every other value is a bind parameter.
func (s *Store) stmt(name string, v vars) string {
	q, ok := s.queries[name]
	if !ok {
		panic("pgstore: no statement sql/postgres/" + name + ".sql")
	}
	for k, n := range v {
		q = strings.ReplaceAll(q, "{{"+k+"}}", strconv.Itoa(n))
	}
	if strings.Contains(q, "{{") {
		panic("pgstore: sql/postgres/" + name + ".sql has an unfilled placeholder")
	}
	return q
}

// notMigrated reports whether err says the schema or one of its tables does not
// exist: a target nothing was ever published to.
func notMigrated(err error) bool {
	c := pgCode(err)
	return c == codeUndefinedTable || c == codeInvalidSchema
}

// schemaVersion is the newest migration applied to the schema, 0 if none.
func (s *Store) schemaVersion(ctx context.Context, q querier) (int64, error) {
	var v int64
	err := q.QueryRow(ctx, s.stmt("schema_version", nil)).Scan(&v)
	if notMigrated(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// ready migrates the schema if this binary knows newer migrations, and refuses a
// schema a newer binary migrated. Every write calls it first.
func (s *Store) ready(ctx context.Context) error {
	v, err := s.schemaVersion(ctx, s.pool)
	switch {
	case err != nil:
		return err
	case v > latestVersion:
		return s.tooNew(v)
	case v < latestVersion:
		return s.migrate(ctx)
	}
	return nil
}

// inTx runs fn in a transaction on conn whose lock waits are bounded by the
// store's lock timeout. It retries twice when the timeout expires or the
// transaction lost a deadlock, logging each retry.
func (s *Store) inTx(ctx context.Context, conn *pgxpool.Conn, what string, fn func(pgx.Tx) error) error {
	const attempts = 3
	var err error
	for i := 1; i <= attempts; i++ {
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, s.stmt("set_lock_timeout", nil), strconv.FormatInt(s.lockTimeout.Milliseconds(), 10)); err != nil {
				return err
			}
			return fn(tx)
		})
		if c := pgCode(err); c != codeLockNotAvailable && c != codeDeadlock {
			break
		}
		s.log.Warn("another session holds a lock the transaction needs; retrying", "step", what, "attempt", i, "lock_timeout", s.lockTimeout)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// lockWait bounds how long a publish waits for the publish lock. A sync killed
// in the middle of a statement leaves a server session that still holds the lock
// until the server notices the closed connection, which session_settings.sql
// makes a matter of a quarter of a second; a live sync holds it much longer.
const lockWait = 1500 * time.Millisecond

// lock takes the publish lock on a connection of its own, waiting at most
// lockWait. The returned function releases it; if the connection cannot say it
// did, it closes the connection, which ends the session and with it the lock.
func (s *Store) lock(ctx context.Context) (*pgxpool.Conn, func(), error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, nil, err
	}
	deadline := time.Now().Add(lockWait)
	for {
		var ok bool
		if err := conn.QueryRow(ctx, s.stmt("lock", nil), s.publishKey).Scan(&ok); err != nil {
			conn.Release()
			return nil, nil, fmt.Errorf("take the publish lock: %w", err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			conn.Release()
			return nil, nil, fmt.Errorf("%w: schema %s of %s", model.ErrLocked, s.schema, s.target)
		}
		select {
		case <-ctx.Done():
			conn.Release()
			return nil, nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	unlock := func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		var released bool
		if err := conn.QueryRow(uctx, s.stmt("unlock", nil), s.publishKey).Scan(&released); err != nil || !released {
			conn.Conn().Close(uctx)
		}
		conn.Release()
	}
	if _, err := conn.Exec(ctx, s.stmt("session_settings", nil)); err != nil {
		unlock()
		return nil, nil, fmt.Errorf("set up the publishing session: %w", err)
	}
	return conn, unlock, nil
}

func (s *Store) step(ctx context.Context, name string) error {
	if s.failpoint != nil {
		return s.failpoint(ctx, name)
	}
	return ctx.Err()
}

// errNoRows tells a missing row from a failed query.
func errNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

var _ model.Store = (*Store)(nil)
