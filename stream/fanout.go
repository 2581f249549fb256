package stream

import "time"

// The fan-out runs on a goroutine of its own, so that the feed's, which
// tells the hub of every change, does a group's bookkeeping and no work
// per subscriber: on a group watched by thousands, telling each of them
// of each change would hold up the feed, and the writers behind it, for
// a fan-out per change. Instead a change marks its group due, and the
// fan-out tells each due group's subscribers what changed since it last
// did, as often as the group's budget of messages allows (Options.Budget).
// Within it, that is each change on its own, at once.

// due puts g on the list of the next fan-out. The caller holds g.mu and
// has just marked g dirty.
func (h *Hub) due(g *group) {
	h.dueMu.Lock()
	h.dueList = append(h.dueList, g)
	h.dueMu.Unlock()
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// fanOutLoop runs the fan-outs until the hub closes.
func (h *Hub) fanOutLoop() {
	defer close(h.fanned)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-h.kick:
		case <-timer.C:
		}
		if next := h.fanOutDue(); !next.IsZero() {
			timer.Reset(time.Until(next))
		}
	}
}

// fanOutDue fans out each due group whose turn has come, and returns when
// the next turn comes of those left due, or zero when none is.
func (h *Hub) fanOutDue() (next time.Time) {
	h.dueMu.Lock()
	list := h.dueList
	h.dueList = nil
	h.dueMu.Unlock()
	now := time.Now()
	var later []*group
	for _, g := range list {
		g.mu.Lock()
		switch {
		case !g.dirty:
			// A test has fanned it out already.
		case !g.gone && now.Before(g.turn):
			// It has spent its budget for now: it waits for its turn.
			later = append(later, g)
			if next.IsZero() || g.turn.Before(next) {
				next = g.turn
			}
		default:
			g.fanOut(h, now)
		}
		g.mu.Unlock()
	}
	if len(later) > 0 {
		h.dueMu.Lock()
		h.dueList = append(h.dueList, later...)
		h.dueMu.Unlock()
	}
	return next
}
