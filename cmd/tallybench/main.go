// Command tallybench measures Tally as its users will run it: a real
// server process, real UserSigs, the default durable configuration.
//
//	tallybench load     [flags]  throughput and latency against the HTTP ceiling
//	tallybench cluster  [flags]  the same for 1 and many nodes on PostgreSQL
//	tallybench memory   [flags]  RSS per stored counter and restart time
//	tallybench fanout   [flags]  many open streams: update rate, delay, memory
//	tallybench callbacks [flags] updates with callbacks accepted, hanging, none
//	tallybench fsync    [flags]  what a stream of fsyncs costs the whole machine
//	tallybench noop     [flags]  serve the no-op handler that sets the ceiling
//
// Every figure it prints is a ratio measured side by side in one run, or
// an absolute that the ratio is built from; the machines it runs on are
// noisy, so only the ratios are worth comparing across runs.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

const usage = `tallybench measures a real Tally process.

Usage:
  tallybench load [flags]     throughput, latency and correctness under load,
                              as ratios of a no-op net/http handler
  tallybench cluster [flags]  the same for 1 and many nodes on one PostgreSQL
                              with a synchronous standby, folding on and off
  tallybench memory [flags]   RSS per stored counter and restart time
  tallybench fanout [flags]   the hot group's update rate with and without
                              thousands of open streams, the delay from a
                              writer's OK to its subscribers, RSS per stream
  tallybench callbacks [flags]
                              the update rate with no callback URL, with a
                              handler that accepts, and with one that hangs;
                              then that every event of every OK update came
  tallybench fsync [flags]    the machine capacity that fsyncs take, which
                              bounds durable writes on virtual disks
  tallybench noop [flags]     serve the no-op handler (load starts it itself)

Run "tallybench COMMAND --help" for the flags of a command.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "load":
		err = load(args[1:], stdout, stderr)
	case "cluster":
		err = cluster(args[1:], stdout, stderr)
	case "memory":
		err = memory(args[1:], stdout, stderr)
	case "fanout":
		err = fanout(args[1:], stdout, stderr)
	case "callbacks":
		err = callbacks(args[1:], stdout, stderr)
	case "fsync":
		err = fsyncCost(args[1:], stdout, stderr)
	case "noop":
		err = noop(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "tallybench: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "tallybench %s: %v\n", args[0], err)
		return 1
	}
	return 0
}
