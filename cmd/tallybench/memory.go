package main

import (
	"errors"
	"io"
)

// memory is written by the memory/restart benchmark work.
func memory(args []string, stdout, stderr io.Writer) error {
	return errors.New("not written yet")
}
