// Package db is the tuning database: what the autotuner measured on one
// machine, kept as text a person can read and diff.
//
// A database is a JSON Lines file. Its first line is a header naming the
// machine (Machine: CPU model, instruction tier, logical CPUs, cache
// sizes, OS and architecture); every other line is one Record: the
// measurement of one variant of one kernel at one static shape and batch
// bucket, or the reason the variant failed, with the modelc and Go
// versions that measured it. Records are sorted by their key, so two
// databases diff line by line. Each record also names its machine's ID,
// so a file whose header was lost still says whose it is.
//
// One file holds one machine's records: the default is
// $XDG_CACHE_HOME/modelc/tune/<machine ID>.jsonl (DefaultPath), shared by
// modelc tune, build and bench. Open refuses a file of another machine
// unless the caller asks for it (Options.AllowOther), and then says so
// (DB.Foreign), so a build never uses another machine's choices by
// accident.
//
// Writes are atomic and safe between processes (Update): under an
// exclusive lock on <file>.lock (github.com/gofrs/flock) the file is read
// again, the new records merged in (a later measurement of the same key
// replaces an earlier one), and the result written to a temporary file in
// the same directory, synced and renamed over the old one. A process
// killed at any point leaves either the old or the new file; two tuners
// writing at once lose nothing. A line that does not parse is reported
// (DB.Problems, with its line number) and skipped, never fatal; when the
// file is rewritten, such lines are appended to <file>.rejected rather
// than silently dropped.
package db
