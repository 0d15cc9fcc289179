// Package report renders a published generation for people and scripts: the access
// table as CSV (a stable contract), and readable reports by user, object and role.
package report
