package tensorio

import (
	"errors"
	"fmt"
	"io/fs"
)

// Error reports malformed input, or arrays that cannot be encoded. Its
// message starts with the file name, or with the format name when there is
// no file, so a user staring at a failed build knows which of many weight
// files to look at.
type Error struct {
	File   string // path of the file; "" when working in memory
	Format string // "safetensors", "npy" or "npz"
	Err    error  // what is wrong
}

func (e *Error) Error() string {
	p := e.File
	if p == "" {
		p = e.Format
	}
	return p + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// wrap turns err into an *Error for file (may be "") and format, keeping
// errors that already name their file (*os.PathError from os.Open etc.)
// unchanged.
func wrap(err error, file, format string) error {
	if err == nil {
		return nil
	}
	var e *Error
	var pe *fs.PathError
	if errors.As(err, &e) || errors.As(err, &pe) {
		return err
	}
	return &Error{File: file, Format: format, Err: err}
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
