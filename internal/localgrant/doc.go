// Package localgrant holds the rules of local grants and the access requests
// behind them, apart from any database: what a request must say, what a policy
// allows, which approvers are designated for an object, what status a grant or
// a request is in, and what access history says of a grant's use and of how far
// that use may extend it.
//
// The Postgres store (pipeline/pgstore) stores requests and grants and enforces
// the same rules in the database, where no client can skip them; this package
// lets the command line explain a refusal before it asks, and lets the rules be
// tested on their own.
package localgrant
