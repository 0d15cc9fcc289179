package fakesnowflake_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/grantmirror/grantmirror/internal/fakesnowflake"
	"github.com/grantmirror/grantmirror/pipeline/snowflake"
)

// A fake account serving a snapshot directory, extracted through the real
// driver: the Snowflake source connects over plain HTTP to the fake's address.
func Example() {
	srv, err := fakesnowflake.New(fakesnowflake.Options{
		Dir:       "../../pipeline/snowflake/testdata/acme",
		Format:    fakesnowflake.Arrow,
		ChunkRows: 4, // larger views arrive in chunks, downloaded from the fake
		Users:     map[string]fakesnowflake.User{"GRANTMIRROR": {Password: "secret"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	out, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(out)
	cfg := snowflake.Config{Accounts: []snowflake.Account{{
		Name: "ACME", Account: "acme", User: "GRANTMIRROR", Password: "secret",
		Host: srv.Host(), Port: srv.Port(), Protocol: "http",
	}}}
	res, err := snowflake.Extract(context.Background(), cfg, filepath.Join(out, "snapshot"))
	if err != nil {
		log.Fatal(err)
	}
	for _, v := range res.Accounts[0].Views {
		if v.Missing {
			fmt.Printf("%-22s missing\n", v.File)
			continue
		}
		fmt.Printf("%-22s %2d rows, %s, %d batches\n", v.File, v.Rows, v.Format, v.Batches)
	}
	fmt.Println("chunks downloaded:", srv.Stats().Chunks)
	// Output:
	// users.csv               6 rows, arrow, 2 batches
	// grants_to_users.csv     6 rows, arrow, 2 batches
	// grants_to_roles.csv    13 rows, arrow, 4 batches
	// roles.csv               7 rows, arrow, 2 batches
	// tag_references.csv     missing
	// policy_references.csv   2 rows, arrow, 1 batches
	// masking_policies.csv    1 rows, arrow, 1 batches
	// row_access_policies.csv  1 rows, arrow, 1 batches
	// projection_policies.csv  0 rows, arrow, 0 batches
	// access_history.csv      3 rows, arrow, 1 batches
	// chunks downloaded: 6
}
