// Package dirstore keeps grantmirror generations in a local directory, as Parquet
// files, and publishes each with an atomic rename, so no server is needed.
package dirstore
