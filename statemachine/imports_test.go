package statemachine

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The pure packages import no os, net, syscall or x/sys (style.md §4).
func TestPureImports(t *testing.T) {
	forbidden := []string{"os", "os/exec", "net", "syscall", "golang.org/x/sys/unix", "unsafe"}
	for _, dir := range []string{".", "../drbd", "../actlog"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		if len(files) == 0 {
			t.Fatalf("no files in %s", dir)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			af, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range af.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				for _, bad := range forbidden {
					if p == bad || strings.HasPrefix(p, "net/") {
						t.Errorf("%s imports %s", f, p)
					}
				}
				if dir == "../drbd" && strings.HasPrefix(p, "udrbd/") {
					t.Errorf("%s: drbd must import nothing from the project (%s)", f, p)
				}
			}
		}
	}
}
