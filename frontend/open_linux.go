//go:build linux

package frontend

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// errNoBeneath says openBeneath cannot decide: the kernel lacks openat2,
// or the path crosses a symlink with an absolute target, which
// RESOLVE_BENEATH refuses even when it stays inside; the caller falls back
// to open-then-verify.
var errNoBeneath = errors.New("openat2 RESOLVE_BENEATH unavailable")

// openBeneath opens rel inside root with openat2(RESOLVE_BENEATH): the
// kernel resolves every component and refuses to leave root.
func openBeneath(root, rel string) (*os.File, error) {
	dir, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, errNoBeneath
	}
	defer unix.Close(dir)
	fd, err := unix.Openat2(dir, rel, &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NONBLOCK,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
	})
	switch {
	case err == nil:
		return os.NewFile(uintptr(fd), rel), nil
	case errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.EACCES) || errors.Is(err, unix.ELOOP):
		return nil, err
	}
	// EXDEV (an escape, or an absolute symlink), ENOSYS, EPERM under a
	// seccomp filter, …: let open-then-verify decide and word the error.
	return nil, errNoBeneath
}
