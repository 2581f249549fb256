package backup

import (
	"io"

	"github.com/tallyserver/tally/internal/durable"
)

// Save copies a backup from r into the file path, checking it as Verify
// does while it copies, so that path holds only a whole backup; it is
// written durably, and readable by its owner only, as durable.Create does,
// since it may hold the dev app's secret key. Unless replace is set, an
// existing path is refused with an error that matches fs.ErrExist.
func Save(r io.Reader, path string, replace bool) (Summary, error) {
	var sum Summary
	err := durable.Create(path, replace, func(w io.Writer) error {
		var err error
		sum, err = Verify(io.TeeReader(r, w))
		return err
	})
	if err != nil {
		return Summary{}, err
	}
	return sum, nil
}
