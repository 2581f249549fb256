package main

import (
	"fmt"
	"io"
	"os"

	"github.com/tallyserver/tally/backup"
)

// restoreCmd unpacks a backup into a data dir that has no store, for a
// server to be started on.
func restoreCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("restore", stderr)
	from := fs.String("from", "", "the backup file, as tally backup wrote it (required)")
	data := fs.String("data", "", "the data dir to restore into; it must hold no store (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *from == "":
		return usageError{"--from is required"}
	case *data == "":
		return usageError{"--data is required"}
	}
	f, err := os.Open(*from)
	if err != nil {
		return err
	}
	defer f.Close()
	sum, err := backup.Restore(f, *data)
	if err != nil {
		return fmt.Errorf("restore %s into %s: %w", *from, *data, err)
	}
	fmt.Fprintf(stdout, "restored %s into %s: %s\n\n", *from, *data, describe(sum))
	if sum.DevApp {
		fmt.Fprintf(stdout, "Start a server on it with the original's flags and --data %s:\n"+
			"  tally serve [--config FILE] --data %s\n"+
			"Without --config it serves the dev app the backup holds.\n", *data, *data)
	} else {
		fmt.Fprintf(stdout, "Start a server on it with the original's config file and --data %s:\n"+
			"  tally serve --config FILE --data %s\n"+
			"The backup holds no dev app, so without --config a new one would be made.\n", *data, *data)
	}
	return nil
}
