package tally

import (
	"strconv"

	"github.com/tallyserver/tally/internal/jsonstr"
)

// AppendCounterList appends cs as the JSON array in which the stream's
// messages and the after-events give counters: [{"Key":k,"Value":v},...],
// written even when empty.
func AppendCounterList(b []byte, cs []Counter) []byte {
	b = append(b, '[')
	for i, c := range cs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"Key":`...)
		b = jsonstr.Append(b, c.Key)
		b = append(b, `,"Value":`...)
		b = strconv.AppendInt(b, c.Value, 10)
		b = append(b, '}')
	}
	return append(b, ']')
}

// AppendKeyList appends keys as a JSON array of strings, as the stream's
// messages and the after-events name deleted keys.
func AppendKeyList(b []byte, keys []string) []byte {
	b = append(b, '[')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonstr.Append(b, k)
	}
	return append(b, ']')
}
