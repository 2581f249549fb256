package main

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// okAt is one OK answer to an Increase of the hot group: the value it
// made, which names the change, and when the writer had the answer.
type okAt struct {
	value int64
	at    time.Duration
}

// hotBody increases the hot group's one counter by 1, so that every OK
// answer carries a value no other answer does.
var hotBody = []byte(`{"GroupId":"hot","Mode":"Increase","GroupCounter":[{"Key":"likes","Value":1}]}`)

// hotWrites increases the hot group from conns connections for d, one
// call in flight on each, and returns the rate of OK answers, their
// latencies, and each answer's value and time, sorted by value. Any answer
// but OK fails the run: the delays are measured against OK answers only.
func hotWrites(addr, target string, conns int, d time.Duration) (float64, *histogram, []okAt, error) {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		oks      []okAt
		hist     = new(histogram)
		firstErr error
		answers  atomic.Int64
	)
	start := time.Now()
	end := start.Add(d)
	for range conns {
		wg.Go(func() {
			h := new(histogram)
			var mine []okAt
			err := func() error {
				c, err := dial(addr)
				if err != nil {
					return err
				}
				defer c.Close()
				for t0 := time.Now(); t0.Before(end); {
					ans, err := c.post(target, hotBody)
					if err != nil {
						return err
					}
					at := mono()
					t1 := time.Now()
					h.add(t1.Sub(t0))
					t0 = t1
					vs := counterValues(ans)
					if !isOK(ans) || len(vs) != 1 {
						return fmt.Errorf("answer %s", ans)
					}
					mine = append(mine, okAt{vs[0], at})
					answers.Add(1)
				}
				return nil
			}()
			mu.Lock()
			defer mu.Unlock()
			hist.merge(h)
			oks = append(oks, mine...)
			if firstErr == nil {
				firstErr = err
			}
		})
	}
	wg.Wait()
	rate := float64(answers.Load()) / time.Since(start).Seconds()
	slices.SortFunc(oks, func(a, b okAt) int { return int(a.value - b.value) })
	return rate, hist, oks, firstErr
}

// delayStats is what the hot subscribers saw of a run's writes.
type delayStats struct {
	hist     histogram
	pairs    int64 // (subscriber, value written) pairs measured
	early    int64 // of them, the message came before the writer's OK
	messages int64 // messages with the run's values that the hot subscribers got
	missed   int64 // pairs whose value, or a later one, never came
}

// add measures, for every hot subscriber and every value written, the
// time from the writer's OK to the first message of that subscriber with
// that value or a later one: a subscriber that falls behind is sent the
// latest state rather than every change, and a value it skipped reached
// it with the one that replaced it. A message that beat the writer's OK,
// which can happen as the server answers the writer and the streams at
// once, counts as no delay, and as early.
func (st *delayStats) add(writes []okAt, subs []*subscriber) {
	for _, s := range subs {
		if !s.hot {
			continue
		}
		// A stream's first message, the state before the run's first
		// write, carries none of its values.
		if len(writes) > 0 {
			for _, v := range s.values {
				if v >= writes[0].value {
					st.messages++
				}
			}
		}
		m := 0
		for _, w := range writes {
			for m < len(s.values) && s.values[m] < w.value {
				m++
			}
			if m == len(s.values) {
				st.missed++
				continue
			}
			st.pairs++
			d := s.at[m] - w.at
			if d < 0 {
				st.early++
				d = 0
			}
			st.hist.add(d)
		}
	}
}

// waitForValue waits until every hot subscriber has seen v, or until
// timeout, and says how many had not.
func waitForValue(subs []*subscriber, v int64, timeout time.Duration) error {
	end := time.Now().Add(timeout)
	for {
		behind := 0
		for _, s := range subs {
			if !s.hot || s.last.Load() >= v {
				continue
			}
			select {
			case <-s.done:
				return fmt.Errorf("a hot stream ended before value %d: %v", v, s.err)
			default:
			}
			behind++
		}
		if behind == 0 {
			return nil
		}
		if time.Now().After(end) {
			return fmt.Errorf("%d hot subscribers had not seen value %d %s after the last write", behind, v, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
