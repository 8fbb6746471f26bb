package gosafe

import (
	"strings"
	"testing"
)

func TestComment(t *testing.T) {
	for in, want := range map[string]string{
		"blocks.0/fc1":           "blocks.0/fc1",
		"a\nfunc init() {}":      `a\nfunc init() {}`,
		"x\u2028y\r":             `x\u2028y\r`,
		"é":                      `\u00e9`,
		"\xff":                   `\xff`,
		"//go:generate rm -rf /": ` //go:generate rm -rf /`,
		"/* */":                  ` /* */`,
		"tab\there":              `tab\there`,
	} {
		if got := Comment(in); got != want {
			t.Errorf("Comment(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCommand(t *testing.T) {
	got := Command("modelc", "build", "m\npackage x `.yaml", "$HOME.yaml", "", "-o", ".")
	want := `modelc build "m\npackage x ` + "`" + `.yaml" "${DOLLAR}HOME.yaml" "" -o .`
	if got != want {
		t.Fatalf("Command = %s\nwant      %s", got, want)
	}
	if strings.ContainsAny(got, "\n\r") {
		t.Fatal("Command wrote a line break")
	}
}

func TestPackage(t *testing.T) {
	for in, want := range map[string]string{
		"Switch": "switchmodel", "ResNet-20": "resnet20", "": "model", "7up": "model7up",
		"main": "mainmodel", "_": "model", "go": "gomodel", "init": "init",
	} {
		got := Package(in)
		if got != want {
			t.Errorf("Package(%q) = %q, want %q", in, got, want)
		}
		if err := CheckPackage(got); err != nil {
			t.Errorf("CheckPackage(Package(%q)): %v", in, err)
		}
	}
	for _, bad := range []string{"func", "_", "main", "my-pkg", "9x", "", "é"} {
		if CheckPackage(bad) == nil {
			t.Errorf("CheckPackage(%q) accepted it", bad)
		}
	}
}

func TestIdent(t *testing.T) {
	taken := map[string]bool{}
	for _, c := range []struct{ in, want string }{
		{"my-layer", "MyLayer"}, {`x"; os.Exit(1)//`, "XOsExit1"}, {"", "V"}, {"9", "V9"}, {"my_layer", "MyLayer2"},
	} {
		if got := Ident(c.in, taken); got != c.want {
			t.Errorf("Ident(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
