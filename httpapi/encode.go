package httpapi

import (
	"strconv"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/internal/jsonstr"
)

// answer builds a response body. Handlers append their fields after the
// envelope, each starting with a comma, so a successful answer is written
// in one pass without reflection.
type answer struct {
	b []byte
}

func (a *answer) ok() {
	a.b = append(a.b[:0], `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""`...)
}

// fail replaces whatever was built with a failure envelope for err.
func (a *answer) fail(err error) {
	a.b = append(a.b[:0], `{"ActionStatus":"FAIL","ErrorCode":`...)
	a.b = strconv.AppendInt(a.b, int64(tally.ErrorCode(err)), 10)
	a.b = append(a.b, `,"ErrorInfo":`...)
	a.b = appendString(a.b, tally.ErrorInfo(err))
}

// end closes the answer and returns it. It keeps what it appended, so that
// the pooled buffer keeps any growth of the last byte too.
func (a *answer) end() []byte {
	a.b = append(a.b, '}')
	return a.b
}

// field appends `,"name":` ahead of a value.
func (a *answer) field(name string) {
	a.b = append(a.b, ',', '"')
	a.b = append(a.b, name...)
	a.b = append(a.b, '"', ':')
}

func (a *answer) str(name, v string) {
	a.field(name)
	a.b = appendString(a.b, v)
}

func (a *answer) int(name string, v int64) {
	a.field(name)
	a.b = strconv.AppendInt(a.b, v, 10)
}

func (a *answer) uint(name string, v uint64) {
	a.field(name)
	a.b = strconv.AppendUint(a.b, v, 10)
}

// appendList appends "name":[...], one element per item written by elem.
// The array is written even when empty, as clients index it without
// checking.
func appendList[T any](a *answer, name string, items []T, elem func(a *answer, item T)) {
	a.field(name)
	a.b = append(a.b, '[')
	for i, it := range items {
		if i > 0 {
			a.b = append(a.b, ',')
		}
		elem(a, it)
	}
	a.b = append(a.b, ']')
}

// counters appends "GroupCounter":[{"Key":..,"Value":..},...].
func (a *answer) counters(cs []tally.Counter) {
	appendList(a, "GroupCounter", cs, func(a *answer, c tally.Counter) {
		a.b = append(a.b, `{"Key":`...)
		a.b = appendString(a.b, c.Key)
		a.int("Value", c.Value)
		a.b = append(a.b, '}')
	})
}

// groupPage appends the fields of one page of get_appid_group_list.
func (a *answer) groupPage(page tally.GroupPage) {
	a.int("TotalCount", int64(page.Total))
	appendList(a, "GroupIdList", page.IDs, func(a *answer, id string) {
		a.b = append(a.b, `{"GroupId":`...)
		a.b = appendString(a.b, id)
		a.b = append(a.b, '}')
	})
	a.uint("Next", page.Next)
}

// appendString appends s as a JSON string; see jsonstr.Append.
func appendString(b []byte, s string) []byte { return jsonstr.Append(b, s) }
