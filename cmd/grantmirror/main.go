// Command grantmirror mirrors Snowflake permissions into a product's database.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/grantmirror/grantmirror/internal/cli"
)

func main() {
	// SIGTERM is how Kubernetes stops a job: cancel the context so a run aborts
	// before publishing rather than half-way through a write.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
