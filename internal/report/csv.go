package report

import (
	"encoding/csv"
	"io"

	"github.com/grantmirror/grantmirror/pipeline/model"
)

// AccessHeader is the header of the access CSV; scripts depend on it.
var AccessHeader = []string{"account", "email", "object_type", "object_name", "privilege"}

// AccessCSV writes every row of the access table, sorted, under AccessHeader. It
// streams, so a large generation needs no second copy in memory.
func AccessCSV(w io.Writer, a *model.Access) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(AccessHeader); err != nil {
		return err
	}
	rec := make([]string, 5)
	for r := range a.All() {
		rec[0], rec[1], rec[2], rec[3], rec[4] = r.Account, r.Email, r.ObjectType, r.ObjectName, r.Privilege
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
