package stream

import (
	"strconv"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/internal/jsonstr"
)

// The messages are JSON objects written by hand, like the REST answers, so
// that a change is encoded once however many subscribers it goes to:
//
//	{"GroupId":"g","Seq":7,"GroupCounter":[{"Key":"likes","Value":3}]}
//	{"GroupId":"g","Seq":8,"GroupCounter":[],"Deleted":["likes"]}
//	{"GroupId":"g","Seq":8,"Destroyed":true}
//
// A group's first message, and any later one that stands for several
// changes, holds every counter of the group, and names in Deleted the keys
// the subscriber was told of that are gone; a change holds the keys it set
// and names those it removed. So a client needs one rule for every
// message: set GroupCounter's keys, remove Deleted's.

// appendHead appends {"GroupId":id,"Seq":seq.
func appendHead(b []byte, id string, seq uint64) []byte {
	b = append(b, `{"GroupId":`...)
	b = jsonstr.Append(b, id)
	b = append(b, `,"Seq":`...)
	return strconv.AppendUint(b, seq, 10)
}

// appendCounters appends ,"GroupCounter":[...], written even when empty
// as the REST answers write it.
func appendCounters(b []byte, cs []tally.Counter) []byte {
	return tally.AppendCounterList(append(b, `,"GroupCounter":`...), cs)
}

// appendDeleted appends ,"Deleted":[...], or nothing when keys is empty.
func appendDeleted(b []byte, keys []string) []byte {
	if len(keys) == 0 {
		return b
	}
	return tally.AppendKeyList(append(b, `,"Deleted":`...), keys)
}

// changeMessage encodes one change of a group's counters.
func changeMessage(id string, seq uint64, set []tally.Counter, deleted []string) []byte {
	b := make([]byte, 0, 64+len(id)+32*len(set)+16*len(deleted))
	b = appendHead(b, id, seq)
	b = appendCounters(b, set)
	b = appendDeleted(b, deleted)
	return append(b, '}')
}

// destroyedMessage encodes the last message of a group: it is gone.
func destroyedMessage(id string, seq uint64) []byte {
	b := appendHead(make([]byte, 0, 48+len(id)), id, seq)
	return append(b, `,"Destroyed":true}`...)
}
