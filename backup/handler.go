package backup

import (
	"fmt"
	"net/http"
)

// ServeHTTP answers GET with a fresh backup, streamed as it is written. A
// checkpoint that cannot be made is answered 503 with the reason. Once the
// archive has begun the status is sent, so an error then aborts the
// response: the client sees a broken transfer, and a backup without its
// manifest in any case.
func (s *Source) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Not even HEAD, which would make a checkpoint to send nothing.
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		http.Error(w, "backup: use GET", http.StatusMethodNotAllowed)
		return
	}
	snap, err := s.Snapshot()
	if err != nil {
		s.log.Error("backup failed", "err", err)
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer snap.Close()
	w.Header().Set("Content-Type", "application/x-tar")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="tally-backup-%s.tar"`, snap.created.Format("20060102T150405Z")))
	sum, err := snap.WriteArchive(w)
	if err != nil {
		s.log.Error("backup failed while it was sent", "remote", r.RemoteAddr, "err", err)
		panic(http.ErrAbortHandler)
	}
	s.log.Info("backup sent", "remote", r.RemoteAddr, "files", sum.Files, "bytes", sum.Bytes, "dev_app", sum.DevApp)
}
