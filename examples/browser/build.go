//go:build !js

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// clientPackage is the page's Go program.
const clientPackage = "github.com/wsstream/wsstream/examples/browser/client"

// assets are the files the page loads besides itself.
type assets struct {
	wasm   string // the page's program, built for js/wasm
	execJS string // wasm_exec.js of the Go that built it
}

// build compiles the page's program for js/wasm into out with the go
// command, and finds the wasm_exec.js that goes with it.
func build(ctx context.Context, out string) (assets, error) {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, clientPackage)
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		return assets{}, fmt.Errorf("GOOS=js GOARCH=wasm go build %s: %v\n%s", clientPackage, err, b)
	}
	b, err := exec.CommandContext(ctx, "go", "env", "GOROOT").Output()
	if err != nil {
		return assets{}, fmt.Errorf("go env GOROOT: %v", err)
	}
	root := strings.TrimSpace(string(b))
	for _, p := range []string{"lib/wasm/wasm_exec.js", "misc/wasm/wasm_exec.js"} {
		if _, err := os.Stat(filepath.Join(root, p)); err == nil {
			return assets{wasm: out, execJS: filepath.Join(root, p)}, nil
		}
	}
	return assets{}, fmt.Errorf("wasm_exec.js is not in %s/lib/wasm or %s/misc/wasm", root, root)
}
