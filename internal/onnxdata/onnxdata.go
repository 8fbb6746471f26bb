// Package onnxdata serves the ONNX backend conformance data to tests,
// read in-process from the archive beside this file (backend.tar.xz,
// embedded), so a plain clone of the repository runs them with no
// extraction step and no sibling folder.
//
// The archive is upstream ONNX's onnx/backend/test/data at one commit
// (node/, pytorch-converted/, pytorch-operator/, simple/) plus the five
// weight-stripped whole models under light/; README.md beside this file
// says which commit, what was taken and how pack.sh regenerates it, and
// LICENSE is upstream's Apache-2.0 text. Only tests import this package:
// the product never embeds the data.
package onnxdata

import (
	"archive/tar"
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"testing/fstest"

	"github.com/ulikunitz/xz"
)

//go:embed backend.tar.xz
var archive []byte

// DirEnv names a variable that, when set, points FS at a folder laid out
// like the archive instead (to try newer upstream data before packing it).
const DirEnv = "MODELC_ONNX_BACKEND_DIR"

// Suites are the archive's top-level folders, each holding test_* folders.
var Suites = []string{"node", "pytorch-converted", "pytorch-operator", "simple", "light"}

var (
	once   sync.Once
	shared fs.FS
	err    error
)

// FS returns the data as a read-only file system rooted at the archive's
// top (paths like "node/test_abs/model.onnx"). The archive is decompressed
// once per process (about 31 MiB held in memory).
func FS() (fs.FS, error) {
	once.Do(func() {
		if dir := os.Getenv(DirEnv); dir != "" {
			shared = os.DirFS(dir)
			return
		}
		shared, err = untar(archive)
	})
	return shared, err
}

func untar(data []byte) (fs.FS, error) {
	zr, err := xz.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("onnxdata: backend.tar.xz: %w", err)
	}
	files := fstest.MapFS{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("onnxdata: backend.tar.xz: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name := path.Clean(strings.TrimPrefix(h.Name, "./"))
		if !fs.ValidPath(name) {
			return nil, fmt.Errorf("onnxdata: backend.tar.xz: bad path %q", h.Name)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("onnxdata: backend.tar.xz: %s: %w", name, err)
		}
		files[name] = &fstest.MapFile{Data: b, Mode: 0o444}
	}
	return files, nil
}

// Test is one test folder.
type Test struct {
	Suite string // "node", "pytorch-converted", …
	Name  string // the folder's name, test_…; unique across suites
}

// Dir is the test's folder in FS.
func (t Test) Dir() string { return t.Suite + "/" + t.Name }

// Tests lists every test folder of every suite, by name. Two suites
// holding a test of the same name is an error (names identify tests in
// docs and in go test -run).
func Tests(fsys fs.FS) ([]Test, error) {
	var ts []Test
	seen := map[string]string{}
	for _, s := range Suites {
		entries, err := fs.ReadDir(fsys, s)
		if err != nil {
			return nil, fmt.Errorf("onnxdata: %w", err)
		}
		for _, e := range entries {
			if !e.IsDir() || !strings.HasPrefix(e.Name(), "test_") {
				continue
			}
			if other, ok := seen[e.Name()]; ok {
				return nil, fmt.Errorf("onnxdata: test %s is in both %s/ and %s/", e.Name(), other, s)
			}
			seen[e.Name()] = s
			ts = append(ts, Test{s, e.Name()})
		}
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Name < ts[j].Name })
	return ts, nil
}
