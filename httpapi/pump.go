package httpapi

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/stream"
)

// streamConn is a stream's transport: Server-Sent Events or a WebSocket.
type streamConn interface {
	// write sends one message, or buffers it until flush.
	write(msg []byte) error
	flush() error
	// heartbeat shows an idle stream alive to the proxies on its way.
	heartbeat() error
}

// maxStreamBatch bounds the messages written between two flushes, and
// between two looks at the stream's end.
const maxStreamBatch = 64

// pump sends a stream's messages as the hub has them, and a heartbeat
// whenever Heartbeat has gone by, until the stream ends: it returns why.
// ctx is done when the client has gone. Each batch of writes, and each
// heartbeat, is given Cutoff to go through.
func (s *Server) pump(ctx context.Context, ls *liveStream, sc streamConn, lim StreamLimits) error {
	tick := time.NewTicker(lim.Heartbeat)
	defer tick.Stop()
	// beat checks the UserSig's expiry and sends a heartbeat. It runs on
	// every tick, busy or not, so that a stream that never idles still
	// ends when its sig expires.
	beat := func() error {
		if s.Now().Unix() > ls.expiresAt {
			return tally.Errorf(tally.ErrUserSigExpired, "the UserSig expired at %s", time.Unix(ls.expiresAt, 0).UTC().Format(time.RFC3339))
		}
		ls.deadline(lim.Cutoff)
		if err := sc.heartbeat(); err != nil {
			return err
		}
		ls.idle()
		return nil
	}
	for {
		select {
		case <-tick.C:
			if err := beat(); err != nil {
				return err
			}
		default:
		}
		n := 0
		for ; n < maxStreamBatch; n++ {
			msg, ok := ls.sub.Next()
			if !ok {
				break
			}
			if n == 0 {
				ls.deadline(lim.Cutoff)
			}
			if err := sc.write(msg); err != nil {
				return err
			}
		}
		if n > 0 {
			if err := sc.flush(); err != nil {
				return err
			}
			if n == maxStreamBatch {
				continue
			}
			ls.idle()
		}
		if err := ls.sub.Err(); err != nil {
			return err
		}
		select {
		case <-ls.sub.Wait():
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			if err := beat(); err != nil {
				return err
			}
		}
	}
}

// endedByServer reports whether err, as pump returned it, is the
// server's reason to end the stream, which the client is told, rather
// than the client gone or its connection failed.
func endedByServer(err error) bool {
	if errors.Is(err, stream.ErrDone) || errors.Is(err, stream.ErrClosed) {
		return true
	}
	_, ok := errors.AsType[*tally.Error](err)
	return ok
}

// endReason is what the client is told of why its stream ended.
func endReason(err error) string {
	switch {
	case errors.Is(err, stream.ErrClosed):
		return "the server is shutting down"
	case errors.Is(err, stream.ErrDone):
		return err.Error()
	}
	// The code comes first, so that a client can tell a UserSig that
	// expired (70001) from an app that was removed (60006).
	return strconv.Itoa(int(tally.ErrorCode(err))) + " " + tally.ErrorInfo(err)
}
