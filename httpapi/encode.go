package httpapi

import (
	"strconv"
	"unicode/utf8"

	"github.com/tallyserver/tally"
)

// reply builds a response body. Handlers append their fields after the
// envelope, each starting with a comma, so a successful answer is written
// in one pass without reflection.
type reply struct {
	b []byte
}

func (r *reply) ok() {
	r.b = append(r.b[:0], `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""`...)
}

// fail replaces whatever was built with a failure envelope for err.
func (r *reply) fail(err error) {
	r.b = append(r.b[:0], `{"ActionStatus":"FAIL","ErrorCode":`...)
	r.b = strconv.AppendInt(r.b, int64(tally.ErrorCode(err)), 10)
	r.b = append(r.b, `,"ErrorInfo":`...)
	r.b = appendString(r.b, tally.ErrorInfo(err))
}

func (r *reply) end() []byte { return append(r.b, '}') }

// field appends `,"name":` ahead of a value.
func (r *reply) field(name string) {
	r.b = append(r.b, ',', '"')
	r.b = append(r.b, name...)
	r.b = append(r.b, '"', ':')
}

func (r *reply) str(name, v string) {
	r.field(name)
	r.b = appendString(r.b, v)
}

func (r *reply) int(name string, v int64) {
	r.field(name)
	r.b = strconv.AppendInt(r.b, v, 10)
}

func (r *reply) uint(name string, v uint64) {
	r.field(name)
	r.b = strconv.AppendUint(r.b, v, 10)
}

// counters appends "GroupCounter":[{"Key":..,"Value":..},...]; the array is
// written even when empty, as clients index it without checking.
func (r *reply) counters(cs []tally.Counter) {
	r.field("GroupCounter")
	r.b = append(r.b, '[')
	for i, c := range cs {
		if i > 0 {
			r.b = append(r.b, ',')
		}
		r.b = append(r.b, `{"Key":`...)
		r.b = appendString(r.b, c.Key)
		r.b = append(r.b, `,"Value":`...)
		r.b = strconv.AppendInt(r.b, c.Value, 10)
		r.b = append(r.b, '}')
	}
	r.b = append(r.b, ']')
}

const hex = "0123456789abcdef"

// appendString appends s as a JSON string. Control characters, quotes and
// backslashes are escaped; invalid UTF-8 (which only an internal message
// could hold, since request bodies are checked) becomes U+FFFD so that the
// answer is always valid JSON.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, s[start:i]...)
				b = append(b, `\ufffd`...)
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
