//go:build !linux

package main

import (
	"errors"
	"io"
)

func fsyncCost(args []string, stdout, stderr io.Writer) error {
	return errors.New("fsync runs on Linux only")
}
