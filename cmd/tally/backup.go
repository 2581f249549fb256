package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/tallyserver/tally/backup"
)

// backupCmd fetches a backup from a running server's admin listener and
// saves it once it has been checked whole.
func backupCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("backup", stderr)
	admin := fs.String("admin", "", "the admin address of the running server, as given to tally serve --admin (required)")
	out := fs.String("out", "", "the file to write the backup to (required)")
	force := fs.Bool("force", false, "replace --out if it exists")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *admin == "":
		return usageError{"--admin is required: the address the server's --admin listens on"}
	case *out == "":
		return usageError{"--out is required"}
	}
	if _, _, err := net.SplitHostPort(*admin); err != nil {
		return usageError{fmt.Sprintf("--admin %q: %v", *admin, err)}
	}

	// Save checks this too, but only once the server has made a backup.
	if _, err := os.Lstat(*out); err == nil && !*force {
		return outExists(*out)
	}

	url := "http://" + *admin + "/backup"
	// No timeout: a large store takes as long as it takes to send, and
	// Save refuses whatever does not arrive whole.
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, strings.TrimSpace(string(msg)))
	}
	sum, err := backup.Save(resp.Body, *out, *force)
	if errors.Is(err, os.ErrExist) {
		err = outExists(*out) // made meanwhile
	}
	if err != nil {
		return fmt.Errorf("backup from %s into %s: %w", url, *out, err)
	}
	fmt.Fprintf(stdout, "wrote %s: %s\n", *out, describe(sum))
	return nil
}

// outExists refuses to replace the file of --out without --force, and says
// how to.
func outExists(out string) error {
	return fmt.Errorf("%s exists; choose another file or replace it with --force", out)
}

// describe says what a backup holds, for the messages of backup and
// restore.
func describe(s backup.Summary) string {
	dev := "no dev app"
	if s.DevApp {
		dev = "the dev app included"
	}
	return fmt.Sprintf("%d files, %d bytes, taken %s, %s", s.Files, s.Bytes, s.Created.Format("2006-01-02 15:04:05 UTC"), dev)
}
