package runtime

import (
	"fmt"
	"reflect"
	"testing"
)

// The runtime's tests use the standard library only: a test dependency
// would be a requirement of the runtime's module, and so a module in
// every application's graph (go list -m all). These are the few checks
// they share.

// fatal fails the test with what, followed by the caller's message
// (a format and its arguments), if any.
func fatal(t testing.TB, what string, msg []any) {
	t.Helper()
	if len(msg) > 0 {
		if f, ok := msg[0].(string); ok {
			what += ": " + fmt.Sprintf(f, msg[1:]...)
		}
	}
	t.Fatal(what)
}

// equal checks got against want (reflect.DeepEqual).
func equal(t testing.TB, want, got any, msg ...any) {
	t.Helper()
	if !reflect.DeepEqual(want, got) {
		fatal(t, fmt.Sprintf("got %#v, want %#v", got, want), msg)
	}
}

func isTrue(t testing.TB, cond bool, msg ...any) {
	t.Helper()
	if !cond {
		fatal(t, "check failed", msg)
	}
}

func noError(t testing.TB, err error, msg ...any) {
	t.Helper()
	if err != nil {
		fatal(t, "unexpected error: "+err.Error(), msg)
	}
}

// errorText checks that err's message is want.
func errorText(t testing.TB, err error, want string, msg ...any) {
	t.Helper()
	if err == nil || err.Error() != want {
		fatal(t, fmt.Sprintf("error %v, want %q", err, want), msg)
	}
}

// panics checks that f panics.
func panics(t testing.TB, f func(), msg ...any) {
	t.Helper()
	if !didPanic(f, nil) {
		fatal(t, "no panic", msg)
	}
}

// panicsWith checks that f panics with the value want.
func panicsWith(t testing.TB, want any, f func(), msg ...any) {
	t.Helper()
	var got any
	if !didPanic(f, &got) || !reflect.DeepEqual(got, want) {
		fatal(t, fmt.Sprintf("panic %#v, want %#v", got, want), msg)
	}
}

func didPanic(f func(), value *any) (panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			panicked = true
			if value != nil {
				*value = r
			}
		}
	}()
	f()
	return false
}
