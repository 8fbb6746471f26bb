package codegen

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// ManifestName is the file, in every directory modelc writes, that lists
// what modelc wrote there, one "SHA-256  path" line per file. It decides
// ownership: a rebuild replaces a directory without --force only when the
// directory holds exactly the files its manifest lists, unchanged.
const ManifestName = ".modelc-manifest"

const manifestHeader = "# modelc: the files modelc wrote here and their SHA-256; a rebuild replaces exactly these\n"

// WriteOptions configures Write.
type WriteOptions struct {
	// Force replaces a directory that modelc does not own (no manifest,
	// files it did not write, or files changed since).
	Force bool
	// Log receives notes on what was found and repaired: a previous
	// package restored after an interrupted build, temporary directories
	// of killed builds removed. Nil discards them.
	Log io.Writer
}

// WriteDir is Write with only Force set.
func WriteDir(dir string, files map[string][]byte, force bool) error {
	return Write(dir, files, WriteOptions{Force: force})
}

// Write writes files (names with forward slashes) and their manifest into
// dir, atomically: into a temporary directory beside it (.NAME.modelc-*),
// which then takes dir's place, so a failed or killed build never leaves a
// half-written package under dir's name.
//
// The place is taken by exchanging the two directories in one step where
// the system can (Linux's renameat2 RENAME_EXCHANGE); elsewhere by two
// renames, the previous package moved to .NAME.modelc-old first. Builds
// into one directory are serialised by a lock file (.NAME.modelc.lock).
// Holding it, Write first repairs what a killed build left: the previous
// package is moved back from .NAME.modelc-old if the kill came between
// the two renames (and Log says so), and temporary directories are
// removed.
//
// An existing dir is replaced only when it is empty or modelc owns it (see
// ManifestName), or opts.Force is set.
func Write(dir string, files map[string][]byte, opts WriteOptions) error {
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	dir = filepath.Clean(dir)
	parent, base := filepath.Dir(dir), filepath.Base(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	unlock, err := lockFile(filepath.Join(parent, "."+base+".modelc.lock"))
	if err != nil {
		return fmt.Errorf("locking %s for writing: %w", dir, err)
	}
	defer unlock()
	if err := repair(parent, base, log); err != nil {
		return err
	}
	if !opts.Force {
		if err := owned(dir); err != nil {
			return err
		}
	}
	if st, err := os.Lstat(dir); err == nil && !st.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}

	tmp, err := os.MkdirTemp(parent, "."+base+".modelc-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := writeTree(tmp, files); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return os.Rename(tmp, dir)
	}
	if exchange(tmp, dir) == nil {
		return nil // tmp now holds the previous package; the deferred RemoveAll drops it
	}
	old := filepath.Join(parent, "."+base+".modelc-old")
	if err := os.RemoveAll(old); err != nil {
		return err
	}
	if err := os.Rename(dir, old); err != nil {
		return err
	}
	// A kill here leaves the previous package in old, which the next
	// Write moves back (and says so).
	if err := os.Rename(tmp, dir); err != nil {
		if rerr := os.Rename(old, dir); rerr != nil {
			return fmt.Errorf("%v; the previous package is in %s", err, old)
		}
		return err
	}
	return os.RemoveAll(old)
}

// writeTree writes files and their manifest under root. A manifest among
// files (a package read back from disk to be written again) is replaced
// by the one for what is written now.
func writeTree(root string, files map[string][]byte) error {
	names := make([]string, 0, len(files))
	for name := range files {
		if name != ManifestName {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var manifest bytes.Buffer
	manifest.WriteString(manifestHeader)
	for _, name := range names {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			return err
		}
		sum := sha256.Sum256(files[name])
		fmt.Fprintf(&manifest, "%s  %s\n", hex.EncodeToString(sum[:]), name)
	}
	return os.WriteFile(filepath.Join(root, ManifestName), manifest.Bytes(), 0o644)
}

// repair undoes what a killed Write left beside parent/base: the previous
// package stranded in .base.modelc-old, and temporary directories. The
// caller holds the lock, so no running Write owns them.
func repair(parent, base string, log io.Writer) error {
	dir := filepath.Join(parent, base)
	old := filepath.Join(parent, "."+base+".modelc-old")
	if _, err := os.Lstat(old); err == nil {
		if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
			if err := os.Rename(old, dir); err != nil {
				return fmt.Errorf("a build into %s was interrupted and left the previous package in %s; moving it back: %w", dir, old, err)
			}
			fmt.Fprintf(log, "a build into %s was interrupted between its renames; restored the previous package from %s\n", dir, old)
		} else if err := os.RemoveAll(old); err != nil {
			return err
		} else {
			fmt.Fprintf(log, "removed %s, the previous package of a build interrupted after it finished\n", old)
		}
	}
	entries, err := os.ReadDir(parent)
	if err != nil {
		return err
	}
	prefix := "." + base + ".modelc-"
	for _, e := range entries {
		if name := e.Name(); strings.HasPrefix(name, prefix) && name != filepath.Base(old) && e.IsDir() {
			if err := os.RemoveAll(filepath.Join(parent, name)); err != nil {
				return err
			}
			fmt.Fprintf(log, "removed %s, left by a build that was killed\n", filepath.Join(parent, name))
		}
	}
	return nil
}

// owned returns nil when dir does not exist, is empty, or holds exactly
// the files its manifest lists with the hashes it lists; otherwise an
// error that says why and what to do.
func owned(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) || err == nil && len(entries) == 0 {
		return nil
	}
	if err != nil {
		return err
	}
	listed, err := readManifest(filepath.Join(dir, ManifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s is not empty and was not generated by modelc: it has no %s (use --force to replace it; a package generated before modelc wrote manifests needs --force once)", dir, ManifestName)
	}
	if err != nil {
		return fmt.Errorf("%s: %w (use --force to replace the directory)", filepath.Join(dir, ManifestName), err)
	}
	var foreign, changed []string
	seen := map[string]bool{}
	err = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		switch {
		case e.IsDir():
			return nil
		case rel == ManifestName:
			return nil
		case !e.Type().IsRegular():
			foreign = append(foreign, rel)
			return nil
		}
		want, ok := listed[rel]
		if !ok {
			foreign = append(foreign, rel)
			return nil
		}
		seen[rel] = true
		if got, err := hashFile(p); err != nil || got != want {
			changed = append(changed, rel)
		}
		return nil
	})
	if err != nil {
		return err
	}
	switch {
	case len(foreign) > 0:
		return fmt.Errorf("%s holds files modelc did not write: %s (move them, or use --force to replace the directory)", dir, list(foreign))
	case len(changed) > 0:
		return fmt.Errorf("%s: %s changed since modelc wrote it (use --force to replace the directory)", dir, list(changed))
	}
	return nil
}

func list(names []string) string {
	sort.Strings(names)
	if len(names) > 5 {
		return strings.Join(names[:5], ", ") + fmt.Sprintf(" and %d more", len(names)-5)
	}
	return strings.Join(names, ", ")
}

// readManifest parses a manifest into path → hex SHA-256.
func readManifest(path string) (map[string]string, error) {
	f, err := openNonBlocking(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() || st.Size() > 1<<20 {
		return nil, errors.New("not a manifest modelc wrote")
	}
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		sum, name, ok := strings.Cut(line, "  ")
		if !ok || len(sum) != 64 || name == "" {
			return nil, fmt.Errorf("malformed line %q", line)
		}
		out[name] = sum
	}
	return out, sc.Err()
}

func hashFile(p string) (string, error) {
	f, err := openNonBlocking(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", p)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// openNonBlocking opens p for reading without waiting for a writer: a
// manifest or a listed file that a named pipe has replaced is refused by
// its caller's check that it is a regular file, never waited on.
func openNonBlocking(p string) (*os.File, error) {
	return os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}

// hashOf is a short content hash of the graph text and weights.
func hashOf(graphText string, weights []byte) string {
	h := sha256.New()
	h.Write([]byte(graphText))
	h.Write(weights)
	return hex.EncodeToString(h.Sum(nil))[:16]
}
