package main

import (
	"errors"
	"io"
)

func load(args []string, stdout, stderr io.Writer) error { return errors.New("not written yet") }

func noop(args []string, stdout, stderr io.Writer) error { return errors.New("not written yet") }
