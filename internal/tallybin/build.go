// Package tallybin builds the tally command from source, for the tests and
// benchmarks that run it as a process, as a user would.
package tallybin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// pkg is built by import path, so that the build does not depend on the
// caller's working directory within the module.
const pkg = "github.com/tallyserver/tally/cmd/tally"

// Build builds the tally command of the module the caller runs in into dir
// and returns the binary's path.
func Build(dir string) (string, error) {
	goTool, err := goTool()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "tally")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	out, err := exec.Command(goTool, "build", "-o", bin, pkg).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build tally: %v\n%s", err, out)
	}
	return bin, nil
}

// goTool finds the go command. go test puts its own GOROOT/bin first on the
// PATH of the tests it runs, and CI puts Go's on the PATH, so the PATH
// answers almost always; GOROOT, where it is set, is the fallback.
// runtime.GOROOT is not asked: it is deprecated, and names the GOROOT the
// caller was built with, which may no longer exist.
func goTool() (string, error) {
	path, err := exec.LookPath("go")
	if err == nil {
		return path, nil
	}
	if root := os.Getenv("GOROOT"); root != "" {
		return filepath.Join(root, "bin", "go"), nil
	}
	return "", fmt.Errorf("go build tally: %w; put Go's bin directory on the PATH or set GOROOT", err)
}
