//go:build !linux

package frontend

import (
	"errors"
	"os"
)

var errNoBeneath = errors.New("openat2 RESOLVE_BENEATH unavailable")

// openBeneath is Linux's openat2; elsewhere the caller opens and verifies.
func openBeneath(root, rel string) (*os.File, error) { return nil, errNoBeneath }
