package dirstore

import "errors"

// ErrOldLayout marks a generation written in an earlier layout of the directory
// target (Parquet files in the generation's folder, or partition files encoded
// differently): it is not read or rolled back to, and the next sync publishes one
// in the current layout, even when nothing changed.
var ErrOldLayout = errors.New("written in an older layout of the directory target; sync again to write it in the current layout")
