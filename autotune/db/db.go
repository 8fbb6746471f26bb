package db

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gofrs/flock"
)

// FormatVersion is the version of the file format, in every header.
const FormatVersion = 1

// header is a database's first line.
type header struct {
	Format    int     `json:"modelc_tune_db"`
	MachineID string  `json:"machine_id"`
	Machine   Machine `json:"machine"`
}

// DB is a database as read from its file.
type DB struct {
	Path string
	// Machine is the machine the file belongs to, from its header;
	// MachineID is its ID (from the header or, if the header was lost,
	// from the records).
	Machine   Machine
	MachineID string
	// Foreign says the file is another machine's, opened because the
	// caller allowed it (Options.AllowOther).
	Foreign bool
	// Records are sorted by key, one per key.
	Records []Record
	// Problems are the lines that were skipped, with the reason.
	Problems []Problem
	// Hash is the SHA-256 of the file's bytes in hex ("" when there is
	// no file): what a generated package records as the database it was
	// tuned with.
	Hash    string
	Missing bool // the file does not exist (an empty database)
}

// Problem is a line of a database that was skipped.
type Problem struct {
	Line int
	Text string
	Err  string
}

// Options say whose database the caller expects.
type Options struct {
	Machine Machine
	// AllowOther accepts a database of another machine (DB.Foreign
	// says it was one).
	AllowOther bool
}

// ErrOtherMachine is wrapped by Open's error when the file is another
// machine's and Options.AllowOther is false.
var ErrOtherMachine = errors.New("the tuning database belongs to another machine")

// Open reads the database at path, expecting o.Machine's. A missing file
// is an empty database; a line that does not parse is reported in
// Problems and skipped. The error is for a file that cannot be read, or
// one of another machine unless o.AllowOther.
func Open(path string, o Options) (*DB, error) {
	d, err := read(path)
	if err != nil {
		return nil, err
	}
	want := o.Machine.ID()
	if d.MachineID == "" {
		d.MachineID, d.Machine = want, o.Machine
	}
	if d.MachineID != want {
		if !o.AllowOther {
			return nil, fmt.Errorf("%s: %w: it was measured on %s, and this is %s (allow it explicitly to use it anyway)",
				path, ErrOtherMachine, d.describe(), o.Machine)
		}
		d.Foreign = true
	}
	return d, nil
}

// describe names the file's machine for messages.
func (d *DB) describe() string {
	if d.Machine.ID() == d.MachineID {
		return d.Machine.String()
	}
	return d.MachineID
}

// ProblemLines returns one message per skipped line, "file:line: …".
func (d *DB) ProblemLines() []string {
	var out []string
	for _, p := range d.Problems {
		out = append(out, fmt.Sprintf("%s:%d: skipped: %s", d.Path, p.Line, p.Err))
	}
	return out
}

// read parses the file at path; only I/O errors are errors.
func read(path string) (*DB, error) {
	d := &DB{Path: path}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		d.Missing = true
		return d, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tuning database: %w", err)
	}
	if len(data) > 0 {
		sum := sha256.Sum256(data)
		d.Hash = hex.EncodeToString(sum[:])
	}
	byKey := map[Key]Record{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	line := 0
	headerSeen := false
	problem := func(text, format string, args ...any) {
		d.Problems = append(d.Problems, Problem{Line: line, Text: text, Err: fmt.Sprintf(format, args...)})
	}
	for sc.Scan() {
		line++
		text := sc.Text()
		if strings.TrimSpace(text) == "" {
			continue
		}
		if line == 1 && strings.Contains(text, `"modelc_tune_db"`) {
			var h header
			if err := strictUnmarshal(text, &h); err != nil {
				problem(text, "header: %v", err)
				continue
			}
			if h.Format != FormatVersion {
				problem(text, "header: format %d (this modelc reads %d)", h.Format, FormatVersion)
				continue
			}
			if h.MachineID == "" {
				problem(text, "header: no machine_id")
				continue
			}
			d.Machine, d.MachineID, headerSeen = h.Machine, h.MachineID, true
			continue
		}
		var r Record
		if err := strictUnmarshal(text, &r); err != nil {
			problem(text, "%v", err)
			continue
		}
		if err := r.check(); err != nil {
			problem(text, "%v", err)
			continue
		}
		if d.MachineID == "" && !headerSeen {
			d.MachineID = r.Machine // the header was lost: the records say whose file it is
		}
		if r.Machine != d.MachineID {
			problem(text, "record of machine %s in a database of machine %s", r.Machine, d.MachineID)
			continue
		}
		if old, ok := byKey[r.Key()]; ok && !newer(r, old) {
			continue
		}
		byKey[r.Key()] = r
	}
	if err := sc.Err(); err != nil {
		// A line longer than 16 MiB: keep what came before it.
		line++
		problem("", "%v (the rest of the file is ignored)", err)
	}
	d.Records = sorted(byKey)
	return d, nil
}

// strictUnmarshal decodes one JSON object, rejecting unknown fields and
// trailing data: a hand edit that misspells a field is reported, not
// half-read.
func strictUnmarshal(text string, v any) error {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("not a JSON record: %v", err)
	}
	if dec.More() {
		return fmt.Errorf("not a JSON record: data after the object")
	}
	return nil
}

// newer reports whether a should replace b (same key): the later
// measurement wins; on a tie, the larger encoding, so merging is
// deterministic whatever the order.
func newer(a, b Record) bool {
	if !a.At.Equal(b.At) {
		return a.At.After(b.At)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) > string(jb)
}

func sorted(byKey map[Key]Record) []Record {
	out := make([]Record, 0, len(byKey))
	for _, r := range byKey {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Record) int {
		ka, kb := a.Key(), b.Key()
		switch {
		case ka.less(kb):
			return -1
		case kb.less(ka):
			return 1
		}
		return 0
	})
	return out
}

// Find returns the records of one kernel, shape and batch bucket.
func (d *DB) Find(kernel, shape, batch string) []Record {
	var out []Record
	for _, r := range d.Records {
		if r.Kernel == kernel && r.Shape == shape && r.Batch == batch {
			out = append(out, r)
		}
	}
	return out
}

// Best returns the fastest usable record (Record.Usable) of one kernel,
// shape and batch bucket.
func (d *DB) Best(kernel, shape, batch string) (Record, bool) {
	var best Record
	found := false
	for _, r := range d.Find(kernel, shape, batch) {
		if r.Usable() && (!found || r.MedianNs < best.MedianNs) {
			best, found = r, true
		}
	}
	return best, found
}

// LockTimeout bounds how long Update waits for another process's lock.
var LockTimeout = 2 * time.Minute

// Update merges recs into the database at path, which belongs to machine
// m (or does not exist yet), atomically: see the package comment. The
// records' Machine fields are set to m's ID. It returns the database as
// written.
func Update(path string, m Machine, recs []Record) (*DB, error) {
	id := m.ID()
	for i := range recs {
		recs[i].Machine = id
		if err := recs[i].check(); err != nil {
			return nil, fmt.Errorf("tuning database %s: %w", path, err)
		}
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("tuning database: %w", err)
	}
	lock := flock.New(path + ".lock")
	ctx, cancel := context.WithTimeout(context.Background(), LockTimeout)
	defer cancel()
	ok, err := lock.TryLockContext(ctx, 20*time.Millisecond)
	if err != nil || !ok {
		return nil, fmt.Errorf("tuning database %s: waiting for the lock held by another process: %v", path, orTimeout(err))
	}
	defer lock.Unlock()
	removeStaleTemps(path)

	d, err := read(path)
	if err != nil {
		return nil, err
	}
	if d.MachineID != "" && d.MachineID != id {
		return nil, fmt.Errorf("%s: %w: it holds %s's records, these are %s's", path, ErrOtherMachine, d.describe(), m)
	}
	if len(d.Problems) > 0 {
		if err := keepRejected(path, d.Problems); err != nil {
			return nil, err
		}
	}
	byKey := make(map[Key]Record, len(d.Records)+len(recs))
	for _, r := range d.Records {
		byKey[r.Key()] = r
	}
	for _, r := range recs {
		if old, ok := byKey[r.Key()]; !ok || newer(r, old) {
			byKey[r.Key()] = r
		}
	}
	out := &DB{Path: path, Machine: m, MachineID: id, Records: sorted(byKey)}
	data, err := out.encode()
	if err != nil {
		return nil, err
	}
	if err := writeAtomic(path, data); err != nil {
		return nil, fmt.Errorf("tuning database: %w", err)
	}
	sum := sha256.Sum256(data)
	out.Hash = hex.EncodeToString(sum[:])
	return out, nil
}

func orTimeout(err error) error {
	if err == nil {
		return fmt.Errorf("gave up after %v", LockTimeout)
	}
	return err
}

// encode writes the header and the records, one per line.
func (d *DB) encode() ([]byte, error) {
	var b bytes.Buffer
	h, err := json.Marshal(header{Format: FormatVersion, MachineID: d.MachineID, Machine: d.Machine})
	if err != nil {
		return nil, err
	}
	b.Write(h)
	b.WriteByte('\n')
	for _, r := range d.Records {
		line, err := json.Marshal(r)
		if err != nil {
			return nil, err
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

// tempPrefix starts the names of Update's temporary files beside path.
func tempPrefix(path string) string {
	return filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
}

// writeAtomic replaces path by data: a temporary file in the same
// directory, synced, renamed over path, and the directory synced, so
// that a crash at any point leaves the old file or the new one.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(tempPrefix(path))+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if dir, err := os.Open(filepath.Dir(path)); err == nil {
		dir.Sync() // not every file system syncs directories; the rename is done either way
		dir.Close()
	}
	return nil
}

// removeStaleTemps deletes temporary files a killed writer left: called
// under the lock, so no live writer owns one.
func removeStaleTemps(path string) {
	stale, _ := filepath.Glob(tempPrefix(path) + "*")
	for _, s := range stale {
		os.Remove(s)
	}
}

// keepRejected appends the skipped lines to path.rejected, so that
// rewriting the file does not lose what a person may want back.
func keepRejected(path string, ps []Problem) error {
	f, err := os.OpenFile(path+".rejected", os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("tuning database: keeping skipped lines: %w", err)
	}
	defer f.Close()
	now := time.Now().UTC().Format(time.RFC3339)
	for _, p := range ps {
		fmt.Fprintf(f, "# %s: line %d of %s: %s\n%s\n", now, p.Line, filepath.Base(path), p.Err, p.Text)
	}
	return f.Sync()
}

// Merge merges the databases srcs into dst (created if missing) under
// dst's lock. Every source must belong to dst's machine (or, when dst
// does not exist, to the first source's). It returns dst as written and
// the problems found in the sources.
func Merge(dst string, srcs ...string) (*DB, []string, error) {
	var recs []Record
	var problems []string
	var m *Machine
	var mID string
	if d, err := read(dst); err != nil {
		return nil, nil, err
	} else if d.MachineID != "" {
		m, mID = &d.Machine, d.MachineID
		problems = append(problems, d.ProblemLines()...)
	}
	for _, src := range srcs {
		s, err := read(src)
		if err != nil {
			return nil, nil, err
		}
		if s.Missing {
			return nil, nil, fmt.Errorf("merge: %s: no such file", src)
		}
		problems = append(problems, s.ProblemLines()...)
		if s.MachineID == "" {
			continue // empty
		}
		if m == nil {
			m, mID = &s.Machine, s.MachineID
		}
		if s.MachineID != mID {
			return nil, problems, fmt.Errorf("merge: %s: %w: it holds %s's records, %s holds %s's", src, ErrOtherMachine, s.describe(), dst, mID)
		}
		if s.Machine.ID() == mID && m.ID() != mID {
			m = &s.Machine // a header at last
		}
		recs = append(recs, s.Records...)
	}
	if m == nil {
		return nil, problems, fmt.Errorf("merge: no records in %s", strings.Join(srcs, ", "))
	}
	if m.ID() != mID {
		return nil, problems, fmt.Errorf("merge: no file names machine %s in a header; cannot write %s", mID, dst)
	}
	d, err := Update(dst, *m, recs)
	return d, problems, err
}

// MachineOf returns the machine a database file's header names.
func MachineOf(path string) (Machine, error) {
	d, err := read(path)
	if err != nil {
		return Machine{}, err
	}
	if d.Missing {
		return Machine{}, fmt.Errorf("%s: no such file", path)
	}
	if d.MachineID == "" || d.Machine.ID() != d.MachineID {
		return Machine{}, fmt.Errorf("%s: no header naming its machine", path)
	}
	return d.Machine, nil
}
