package dirstore

import "errors"

// ErrOldLayout marks a generation written by a grantmirror before partitioned
// generations (Parquet files in the generation's folder): it is not read, and the
// next sync publishes one in the current layout.
var ErrOldLayout = errors.New("generation written in the old Parquet layout; sync again to write it in the current layout")
