package frontend_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelc/modelc/frontend"
)

// ParseConfiguration reads a configuration as configurations: writes it,
// with positions in the text it was given.
func TestParseConfiguration(t *testing.T) {
	c, err := frontend.ParseConfiguration("--variant drop6", "drop6", "[{attention-drop: {drop: 6}}]")
	require.NoError(t, err)
	require.Equal(t, "drop6", c.Name)
	require.Len(t, c.Passes, 1)
	require.Equal(t, frontend.PassSpec{Name: "attention-drop", Options: map[string]any{"drop": int64(6)}, Line: 1, Col: 3, OptionPos: map[string][2]int{"drop": {1, 26}}}, c.Passes[0])

	c, err = frontend.ParseConfiguration("--variant unfused", "unfused", "{exclude_passes: [bn-fold]}")
	require.NoError(t, err)
	require.Empty(t, c.Passes)
	require.Equal(t, []frontend.PassSpec{{Name: "bn-fold", Line: 1, Col: 19}}, c.ExcludePasses)

	c, err = frontend.ParseConfiguration("--variant none", "none", "[]")
	require.NoError(t, err)
	require.Empty(t, c.Passes)

	for _, bad := range []struct{ src, want string }{
		{"bn-fold", "--variant x:1:1: configuration x: want a list of passes"},
		{"{passes: [bn-fold], exclude: [x]}", `--variant x:1:21: configuration x: unknown key "exclude"`},
		{"[{a: 1, b: 2}]", "--variant x:1:2: passes: want a pass name or {name: {options}}"},
		{"[bn-fold", "--variant x:"},
	} {
		_, err := frontend.ParseConfiguration("--variant x", "x", bad.src)
		require.ErrorContains(t, err, bad.want, bad.src)
	}
}

// FuzzParseConfiguration: any text gives a configuration or an error that
// names the flag and a position; never a panic.
func FuzzParseConfiguration(f *testing.F) {
	for _, s := range []string{"[]", "[bn-fold, {attention-drop: {drop: 2, target: mlp}}]", "{passes: [bn-fold], exclude_passes: [bn-fold]}", "{exclude_passes: bn-fold}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		c, err := frontend.ParseConfiguration("--variant v", "v", src)
		if err != nil {
			require.Regexp(t, `^--variant v(:\d+:\d+)?: \S`, err.Error())
			return
		}
		require.Equal(t, "v", c.Name)
	})
}
