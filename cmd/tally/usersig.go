package main

import (
	"fmt"
	"io"
	"time"

	"github.com/tallyserver/tally/usersig"
)

// defaultExpire is the lifetime Tencent's generators give a UserSig in
// their examples: 180 days.
const defaultExpire = 180 * 24 * 60 * 60

func userSig(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("usersig", stderr)
	sdkappid := fs.Uint("sdkappid", 0, "the app's SDKAppID (required)")
	key := fs.String("key", "", "the app's secret key (required)")
	identifier := fs.String("identifier", "", "the identifier to sign for, usually an admin (required)")
	expire := fs.Int64("expire", defaultExpire, "seconds the UserSig stays valid")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *sdkappid == 0 || *sdkappid > 1<<32-1:
		return usageError{"--sdkappid is required: a number from 1 to 4294967295"}
	case *key == "":
		return usageError{"--key is required"}
	case *identifier == "":
		return usageError{"--identifier is required"}
	case *expire <= 0:
		return usageError{fmt.Sprintf("--expire %d: must be 1 or more seconds", *expire)}
	}
	fmt.Fprintln(stdout, usersig.Sign(uint32(*sdkappid), *key, *identifier, *expire, time.Now()))
	return nil
}
