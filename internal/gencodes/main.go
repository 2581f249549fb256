// Command gencodes writes errors_gen.go, the Go form of errors.json: the
// Tencent error codes Tally answers with, as constants and as the table that
// names them. errors.json is the one place where a code is defined, so that
// adding a code is adding one row, and the constants, the names in logs and
// metrics and the default messages can never disagree.
//
// It runs from the module root, as go generate runs it for package tally:
//
//	go run ./internal/gencodes          # rewrite errors_gen.go
//	go run ./internal/gencodes -check   # fail if errors_gen.go is stale
//
// A table with a repeated code or name, or rows out of order, is refused.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	in := flag.String("in", "errors.json", "the table of codes")
	out := flag.String("out", "errors_gen.go", "the Go file to write")
	check := flag.Bool("check", false, "do not write; fail if the Go file differs from what would be written")
	flag.Parse()
	if err := run(*in, *out, *check); err != nil {
		fmt.Fprintf(os.Stderr, "gencodes: %v\n", err)
		os.Exit(1)
	}
}

func run(in, out string, check bool) error {
	data, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	rows, err := parse(data)
	if err != nil {
		return fmt.Errorf("%s: %v", in, err)
	}
	src, err := render(rows, filepath.Base(in))
	if err != nil {
		return err
	}
	if check {
		have, err := os.ReadFile(out)
		if err != nil {
			return err
		}
		if !bytes.Equal(have, src) {
			return fmt.Errorf("%s is stale: run go generate (or go run ./internal/gencodes) after changing %s", out, in)
		}
		return nil
	}
	return os.WriteFile(out, src, 0o644)
}
