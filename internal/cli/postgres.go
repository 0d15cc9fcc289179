package cli

import "github.com/grantmirror/grantmirror/pipeline"

func openPostgres(e *env, dsn string) (pipeline.Store, error) {
	return nil, usageErr("target %s: the Postgres target is not built into this binary", RedactDSN(dsn))
}

func openSnowflake(e *env) (pipeline.Source, error) {
	return nil, usageErr("source snowflake: not built into this binary")
}
