// Command tally runs the Tally server and its helpers.
//
//	tally serve [--config FILE [--watch-config]] [--listen ADDR] [--data DIR]
//	            [--store URL] [--tls-cert FILE --tls-key FILE] [--log-format text|json]
//	            [--log-level LEVEL] [--admin ADDR]
//	tally backup --admin ADDR --out FILE [--force]
//	tally restore --from FILE --data DIR
//	tally migrate --from DIR --to URL
//	tally usersig --sdkappid N --key KEY --identifier ID [--expire SECONDS]
//	tally version
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

const usage = `Tally serves Tencent Cloud Chat's REST API for group counters.

Usage:
  tally serve [--config FILE [--watch-config]] [--listen ADDR] [--data DIR]
              [--store URL] [--tls-cert FILE --tls-key FILE]
              [--log-format text|json] [--log-level debug|info|warn|error]
              [--admin ADDR]
        Run the server. Without a config file it creates a development app
        in the data dir and prints how to call it. Flags override the file.
        The data is kept in the data dir, or with --store postgres://… in
        that PostgreSQL database, which any number of servers may share.
        SIGHUP (or, with --watch-config, a change to the file) reloads the
        apps, the certificate and the log level; SIGTERM stops gracefully.
        /metrics serves Prometheus metrics. --admin serves pprof, backups and
        metrics on a separate address; it is off by default and has no
        authentication, so keep it to trusted networks.
  tally backup --admin ADDR --out FILE [--force]
        Save a consistent backup of a running server, fetched from its
        admin listener, to FILE. It is checked whole before FILE is
        written; an existing FILE is replaced only with --force.
  tally restore --from FILE --data DIR
        Unpack a backup into DIR, which must hold no store and no server,
        and print how to start a server on it.
  tally migrate --from DIR --to URL
        Copy the embedded store of data dir DIR, which no server may have
        open, into the PostgreSQL database at URL, which must hold no
        groups, then check the copy against the store and print what each
        app holds. Exits non-zero if anything differs.
  tally usersig --sdkappid N --key KEY --identifier ID [--expire SECONDS]
        Print a UserSig, as Tencent's generators make them.
  tally version
        Print the version.

Run "tally COMMAND --help" for the flags of a command.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command and returns the process's exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(args[1:], stdout, stderr)
	case "backup":
		err = backupCmd(args[1:], stdout, stderr)
	case "restore":
		err = restoreCmd(args[1:], stdout, stderr)
	case "migrate":
		err = migrateCmd(args[1:], stdout, stderr)
	case "usersig":
		err = userSig(args[1:], stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintf(stdout, "tally %s\n", version)
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "tally: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		fmt.Fprintf(stderr, "tally %s: %v\n", args[0], err)
		return 2
	case err != nil:
		fmt.Fprintf(stderr, "tally %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// usageError is a mistake in the command line, answered with exit code 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// newFlags returns a flag set that reports errors instead of exiting, so
// that run decides the exit code.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("tally "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args, turning flag errors into usage errors and
// refusing stray arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}
