package httpapi_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tallyserver/tally"
)

// items writes a GroupCounter array of n items with keys k0.. and value 1.
func items(n int) string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprintf(`{"Key":"k%d","Value":1}`, i)
	}
	return "[" + strings.Join(s, ",") + "]"
}

func wantGroupCounter(want ...counter) func(t *testing.T, m map[string]any) {
	return func(t *testing.T, m map[string]any) {
		t.Helper()
		wantFields(t, m, "ActionStatus", "ErrorCode", "ErrorInfo", "GroupCounter")
		wantCounters(t, counters(t, m), want...)
	}
}

func TestUpdateGroupCounter(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.createGroup(t, appMain, "Public", "g")
	h.createGroup(t, appMain, "Community", "@TGS#_comm")
	h.createGroup(t, appStandard, "Public", "std")
	key128 := strings.Repeat("k", 128)

	// Every failing case uses group g, whose counters must then be as the
	// last successful case left them.
	h.runTable(t, "update_group_counter", []apiCase{
		{name: "Set in request order", body: `{"GroupId":"g","GroupCounter":[{"Key":"b","Value":5},{"Key":"a","Value":-7}],"Mode":"Set"}`,
			check: wantGroupCounter(counter{"b", 5}, counter{"a", -7})},
		{name: "Mode absent is Set", body: `{"GroupId":"g","GroupCounter":[{"Key":"a","Value":1}]}`,
			check: wantGroupCounter(counter{"a", 1})},
		{name: "Mode null is Set", body: `{"GroupId":"g","GroupCounter":[{"Key":"a","Value":2}],"Mode":null}`,
			check: wantGroupCounter(counter{"a", 2})},
		{name: "Increase existing and missing", body: `{"GroupId":"g","Mode":"Increase","GroupCounter":[{"Key":"c","Value":3},{"Key":"a","Value":10},{"Key":"b","Value":0}]}`,
			check: wantGroupCounter(counter{"c", 3}, counter{"a", 12}, counter{"b", 5})},
		{name: "Decrease below zero and missing", body: `{"GroupId":"g","Mode":"Decrease","GroupCounter":[{"Key":"a","Value":20},{"Key":"d","Value":4},{"Key":"c","Value":-1}]}`,
			check: wantGroupCounter(counter{"a", -8}, counter{"d", -4}, counter{"c", 4})},
		{name: "int64 extremes", body: `{"GroupId":"g","GroupCounter":[{"Key":"max","Value":9223372036854775807},{"Key":"min","Value":-9223372036854775808}]}`,
			check: wantGroupCounter(counter{"max", 1<<63 - 1}, counter{"min", -1 << 63})},
		{name: "key of 128 bytes and unknown fields", body: `{"GroupId":"g","Extra":1,"GroupCounter":[{"Key":"` + key128 + `","Value":1,"Note":"x"}]}`,
			check: wantGroupCounter(counter{key128, 1})},
		{name: "escaped and non-ASCII keys", body: `{"GroupId":"g","GroupCounter":[{"Key":"q\"\\\u0000","Value":1},{"Key":"日本","Value":2}]}`,
			check: wantGroupCounter(counter{"q\"\\\x00", 1}, counter{"日本", 2})},
		{name: "same id in another app is another group", app: appOther, body: `{"GroupId":"g","GroupCounter":[{"Key":"a","Value":1}]}`,
			want: tally.ErrGroupNotFound},

		{name: "GroupId missing", body: `{"GroupCounter":[{"Key":"a","Value":1}]}`, want: tally.ErrInvalidParameter, info: "GroupId"},
		{name: "GroupId mis-cased", body: `{"groupId":"g","GroupCounter":[{"Key":"a","Value":1}]}`, want: tally.ErrInvalidParameter},
		{name: "GroupId number", body: `{"GroupId":1,"GroupCounter":[{"Key":"a","Value":1}]}`, want: tally.ErrInvalidParameter},
		{name: "GroupCounter missing", body: `{"GroupId":"g"}`, want: tally.ErrInvalidParameter, info: "GroupCounter"},
		{name: "GroupCounter mis-cased", body: `{"GroupId":"g","groupCounter":[{"Key":"a","Value":1}]}`, want: tally.ErrInvalidParameter},
		{name: "GroupCounter null", body: `{"GroupId":"g","GroupCounter":null}`, want: tally.ErrInvalidParameter},
		{name: "GroupCounter empty", body: `{"GroupId":"g","GroupCounter":[]}`, want: tally.ErrInvalidParameter},
		{name: "GroupCounter object", body: `{"GroupId":"g","GroupCounter":{"Key":"a","Value":1}}`, want: tally.ErrInvalidParameter},
		{name: "GroupCounter item not an object", body: `{"GroupId":"g","GroupCounter":[5]}`, want: tally.ErrInvalidParameter, info: "GroupCounter[0]"},
		{name: "Key missing", body: `{"GroupId":"g","GroupCounter":[{"Value":1}]}`, want: tally.ErrInvalidParameter, info: "GroupCounter[0].Key"},
		{name: "Key mis-cased", body: `{"GroupId":"g","GroupCounter":[{"key":"a","Value":1}]}`, want: tally.ErrInvalidParameter},
		{name: "Key null", body: `{"GroupId":"g","GroupCounter":[{"Key":null,"Value":1}]}`, want: tally.ErrInvalidParameter},
		{name: "Key number", body: `{"GroupId":"g","GroupCounter":[{"Key":1,"Value":1}]}`, want: tally.ErrInvalidParameter},
		{name: "Key empty", body: `{"GroupId":"g","GroupCounter":[{"Key":"","Value":1}]}`, want: tally.ErrInvalidParameter},
		{name: "Key of 129 bytes", body: `{"GroupId":"g","GroupCounter":[{"Key":"a","Value":1},{"Key":"` + key128 + `x","Value":1}]}`, want: tally.ErrInvalidParameter, info: "GroupCounter[1].Key"},
		{name: "Key repeated", body: `{"GroupId":"g","GroupCounter":[{"Key":"a","Value":1},{"Key":"b","Value":1},{"Key":"a","Value":2}]}`, want: tally.ErrInvalidParameter, info: "GroupCounter[2].Key"},
		{name: "Value missing", body: `{"GroupId":"g","GroupCounter":[{"Key":"a"}]}`, want: tally.ErrInvalidParameter, info: "GroupCounter[0].Value"},
		{name: "Value mis-cased", body: `{"GroupId":"g","GroupCounter":[{"Key":"a","value":1}]}`, want: tally.ErrInvalidParameter},
		{name: "Value 5.0", body: `{"GroupId":"g","GroupCounter":[{"Key":"a","Value":5.0}]}`, want: tally.ErrInvalidParameter, info: "GroupCounter[0].Value"},
		{name: "Value 1.5", body: `{"GroupId":"g","GroupCounter":[{"Key":"a","Value":1.5}]}`, want: tally.ErrInvalidParameter},
		{name: "Value string", body: `{"GroupId":"g","GroupCounter":[{"Key":"a","Value":"5"}]}`, want: tally.ErrInvalidParameter, info: "GroupCounter[0].Value"},
		{name: "Value null", body: `{"GroupId":"g","GroupCounter":[{"Key":"a","Value":null}]}`, want: tally.ErrInvalidParameter},
		{name: "Value true", body: `{"GroupId":"g","GroupCounter":[{"Key":"a","Value":true}]}`, want: tally.ErrInvalidParameter},
		{name: "Value 1e3", body: `{"GroupId":"g","GroupCounter":[{"Key":"a","Value":1e3}]}`, want: tally.ErrInvalidParameter},
		{name: "Value 1E3", body: `{"GroupId":"g","GroupCounter":[{"Key":"a","Value":1E3}]}`, want: tally.ErrInvalidParameter},
		{name: "Value 2^63", body: `{"GroupId":"g","GroupCounter":[{"Key":"a","Value":9223372036854775808}]}`, want: tally.ErrInvalidParameter, info: "9223372036854775808"},
		{name: "Value -2^63-1", body: `{"GroupId":"g","GroupCounter":[{"Key":"a","Value":-9223372036854775809}]}`, want: tally.ErrInvalidParameter},
		{name: "Mode set", body: `{"GroupId":"g","GroupCounter":[{"Key":"a","Value":1}],"Mode":"set"}`, want: tally.ErrInvalidParameter, info: "set"},
		{name: "Mode INCREASE", body: `{"GroupId":"g","GroupCounter":[{"Key":"a","Value":1}],"Mode":"INCREASE"}`, want: tally.ErrInvalidParameter, info: "INCREASE"},
		{name: "Mode empty", body: `{"GroupId":"g","GroupCounter":[{"Key":"a","Value":1}],"Mode":""}`, want: tally.ErrInvalidParameter},
		{name: "Mode number", body: `{"GroupId":"g","GroupCounter":[{"Key":"a","Value":1}],"Mode":1}`, want: tally.ErrInvalidParameter},
		{name: "Increase overflows", body: `{"GroupId":"g","Mode":"Increase","GroupCounter":[{"Key":"a","Value":1},{"Key":"max","Value":1}]}`, want: tally.ErrInvalidParameter, info: "GroupCounter[1]"},
		{name: "Decrease overflows", body: `{"GroupId":"g","Mode":"Decrease","GroupCounter":[{"Key":"a","Value":1},{"Key":"min","Value":1}]}`, want: tally.ErrInvalidParameter},
		{name: "Decrease by min overflows", body: `{"GroupId":"g","Mode":"Decrease","GroupCounter":[{"Key":"new","Value":-9223372036854775808}]}`, want: tally.ErrInvalidParameter},

		{name: "GroupId empty", body: `{"GroupId":"","GroupCounter":[{"Key":"a","Value":1}]}`, want: tally.ErrInvalidGroupID},
		{name: "GroupId of 49 bytes", body: `{"GroupId":"` + strings.Repeat("g", 49) + `","GroupCounter":[{"Key":"a","Value":1}]}`, want: tally.ErrInvalidGroupID},
		{name: "GroupId with a tab", body: `{"GroupId":"g\t","GroupCounter":[{"Key":"a","Value":1}]}`, want: tally.ErrInvalidGroupID},
		{name: "no such group", body: `{"GroupId":"nope","GroupCounter":[{"Key":"a","Value":1}]}`, want: tally.ErrGroupNotFound, info: "nope"},
		{name: "Community", body: `{"GroupId":"@TGS#_comm","GroupCounter":[{"Key":"a","Value":1}]}`, want: tally.ErrNoPermission, info: "@TGS#_comm"},
		{name: "standard edition", app: appStandard, body: `{"GroupId":"std","GroupCounter":[{"Key":"a","Value":1}]}`, want: tally.ErrEditionRequired, info: "standard"},
		{name: "21 items", body: `{"GroupId":"g","GroupCounter":` + items(21) + `}`, want: tally.ErrTooManyCounters, info: "21"},
	})

	// Nothing above changed g after the last successful case.
	wantCounters(t, h.getCounters(t, appMain, "g"),
		counter{"a", -8}, counter{"b", 5}, counter{"c", 4}, counter{"d", -4}, counter{key128, 1},
		counter{"max", 1<<63 - 1}, counter{"min", -1 << 63}, counter{"q\"\\\x00", 1}, counter{"日本", 2})
}

// TestGroupCounterLimit shows that a group holds at most 20 keys: an update
// that would make a 21st fails with 10063 and changes nothing, even the
// keys it names that exist.
func TestGroupCounterLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.createGroup(t, appMain, "Private", "g")
	wantOK(t, h.api(t, appMain, "update_group_counter", `{"GroupId":"g","GroupCounter":`+items(20)+`}`))
	state := h.getCounters(t, appMain, "g")
	if len(state) != 20 {
		t.Fatalf("%d counters after setting 20", len(state))
	}

	h.runTable(t, "update_group_counter", []apiCase{
		{name: "21st key", body: `{"GroupId":"g","GroupCounter":[{"Key":"k21","Value":1}]}`, want: tally.ErrTooManyCounters, info: "20"},
		{name: "21st key with existing ones", body: `{"GroupId":"g","Mode":"Increase","GroupCounter":[{"Key":"k0","Value":5},{"Key":"k21","Value":1}]}`, want: tally.ErrTooManyCounters},
		{name: "21st key by Decrease", body: `{"GroupId":"g","Mode":"Decrease","GroupCounter":[{"Key":"k21","Value":0}]}`, want: tally.ErrTooManyCounters},
		{name: "20 existing keys", body: `{"GroupId":"g","Mode":"Increase","GroupCounter":` + items(20) + `}`},
		{name: "21 items of existing keys", body: `{"GroupId":"g","GroupCounter":` + items(21) + `}`, want: tally.ErrTooManyCounters},
	})
	for i := range state {
		state[i].Value++
	}
	wantCounters(t, h.getCounters(t, appMain, "g"), state...)

	// After a delete there is room again.
	wantOK(t, h.api(t, appMain, "delete_group_counter", `{"GroupId":"g","GroupCounterKeys":["k0"]}`))
	wantOK(t, h.api(t, appMain, "update_group_counter", `{"GroupId":"g","GroupCounter":[{"Key":"k21","Value":1}]}`))
}

func TestGetGroupCounter(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.createGroup(t, appMain, "Public", "g")
	h.createGroup(t, appMain, "ChatRoom", "empty")
	h.createGroup(t, appMain, "Community", "@TGS#_comm")
	h.createGroup(t, appStandard, "Public", "std")
	keys := []string{"b", "B", "a", "_", "ä", "a0", "A", "~", "a\x00"}
	var cs []counter
	for i, k := range keys {
		cs = append(cs, counter{k, int64(i - 3)})
	}
	h.setCounters(t, appMain, "g", cs...)
	sorted := slices.Clone(cs)
	slices.SortFunc(sorted, func(a, b counter) int { return strings.Compare(a.Key, b.Key) })
	val := func(k string) counter {
		i := slices.Index(keys, k)
		return cs[i]
	}

	h.runTable(t, "get_group_counter", []apiCase{
		{name: "keys absent: all, sorted bytewise", body: `{"GroupId":"g"}`, check: wantGroupCounter(sorted...)},
		{name: "keys empty", body: `{"GroupId":"g","GroupCounterKeys":[]}`, check: wantGroupCounter(sorted...)},
		{name: "keys null", body: `{"GroupId":"g","GroupCounterKeys":null}`, check: wantGroupCounter(sorted...)},
		{name: "keys mis-cased are ignored", body: `{"GroupId":"g","groupCounterKeys":["a"]}`, check: wantGroupCounter(sorted...)},
		{name: "keys in request order, missing left out", body: `{"GroupId":"g","GroupCounterKeys":["ä","nope","a","B","zz"]}`,
			check: wantGroupCounter(val("ä"), val("a"), val("B"))},
		{name: "only missing keys", body: `{"GroupId":"g","GroupCounterKeys":["nope"]}`, check: wantGroupCounter()},
		{name: "no counters", body: `{"GroupId":"empty"}`, check: wantGroupCounter()},
		{name: "128-byte key", body: `{"GroupId":"g","GroupCounterKeys":["` + strings.Repeat("k", 128) + `"]}`, check: wantGroupCounter()},

		{name: "GroupId missing", body: `{"GroupCounterKeys":["a"]}`, want: tally.ErrInvalidParameter, info: "GroupId"},
		{name: "GroupId mis-cased", body: `{"groupId":"g"}`, want: tally.ErrInvalidParameter},
		{name: "GroupId array", body: `{"GroupId":["g"]}`, want: tally.ErrInvalidParameter},
		{name: "keys string", body: `{"GroupId":"g","GroupCounterKeys":"a"}`, want: tally.ErrInvalidParameter, info: "GroupCounterKeys"},
		{name: "keys of numbers", body: `{"GroupId":"g","GroupCounterKeys":["a",1]}`, want: tally.ErrInvalidParameter, info: "GroupCounterKeys[1]"},
		{name: "key null", body: `{"GroupId":"g","GroupCounterKeys":[null]}`, want: tally.ErrInvalidParameter},
		{name: "key empty", body: `{"GroupId":"g","GroupCounterKeys":["a",""]}`, want: tally.ErrInvalidParameter, info: "GroupCounterKeys[1]"},
		{name: "key of 129 bytes", body: `{"GroupId":"g","GroupCounterKeys":["` + strings.Repeat("k", 129) + `"]}`, want: tally.ErrInvalidParameter, info: "129"},
		{name: "GroupId of 49 bytes", body: `{"GroupId":"` + strings.Repeat("g", 49) + `"}`, want: tally.ErrInvalidGroupID},
		{name: "GroupId not ASCII", body: `{"GroupId":"gé"}`, want: tally.ErrInvalidGroupID},
		{name: "no such group", body: `{"GroupId":"nope"}`, want: tally.ErrGroupNotFound, info: "nope"},
		{name: "another app's group", app: appOther, body: `{"GroupId":"g"}`, want: tally.ErrGroupNotFound},
		{name: "Community", body: `{"GroupId":"@TGS#_comm"}`, want: tally.ErrNoPermission, info: "@TGS#_comm"},
		{name: "standard edition", app: appStandard, body: `{"GroupId":"std"}`, want: tally.ErrEditionRequired, info: "standard"},
	})
}

func TestDeleteGroupCounter(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.createGroup(t, appMain, "Public", "g")
	h.createGroup(t, appMain, "Community", "@TGS#_comm")
	h.createGroup(t, appStandard, "Public", "std")
	reset := func(t *testing.T) {
		h.setCounters(t, appMain, "g", counter{"a", 1}, counter{"b", 2}, counter{"c", 3})
	}
	envelopeOnly := func(t *testing.T, m map[string]any) {
		wantFields(t, m, "ActionStatus", "ErrorCode", "ErrorInfo")
	}

	for _, c := range []struct {
		name string
		body string
		want []counter
	}{
		{"some", `{"GroupId":"g","GroupCounterKeys":["c","a"]}`, []counter{{"b", 2}}},
		{"some and missing", `{"GroupId":"g","GroupCounterKeys":["nope","b","b"]}`, []counter{{"a", 1}, {"c", 3}}},
		{"only missing", `{"GroupId":"g","GroupCounterKeys":["nope"]}`, []counter{{"a", 1}, {"b", 2}, {"c", 3}}},
		{"all: keys absent", `{"GroupId":"g"}`, nil},
		{"all: keys empty", `{"GroupId":"g","GroupCounterKeys":[]}`, nil},
		{"all: keys null", `{"GroupId":"g","GroupCounterKeys":null}`, nil},
		{"all: keys mis-cased", `{"GroupId":"g","groupCounterKeys":["a"]}`, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			reset(t)
			m := h.api(t, appMain, "delete_group_counter", c.body)
			wantOK(t, m)
			envelopeOnly(t, m)
			wantCounters(t, h.getCounters(t, appMain, "g"), c.want...)
		})
	}

	reset(t)
	h.runTable(t, "delete_group_counter", []apiCase{
		{name: "GroupId missing", body: `{"GroupCounterKeys":["a"]}`, want: tally.ErrInvalidParameter, info: "GroupId"},
		{name: "GroupId mis-cased", body: `{"groupId":"g"}`, want: tally.ErrInvalidParameter},
		{name: "GroupId bool", body: `{"GroupId":true}`, want: tally.ErrInvalidParameter},
		{name: "keys object", body: `{"GroupId":"g","GroupCounterKeys":{"a":1}}`, want: tally.ErrInvalidParameter},
		{name: "key number", body: `{"GroupId":"g","GroupCounterKeys":["a",2]}`, want: tally.ErrInvalidParameter},
		{name: "key empty", body: `{"GroupId":"g","GroupCounterKeys":["a",""]}`, want: tally.ErrInvalidParameter, info: "GroupCounterKeys[1]"},
		{name: "key of 129 bytes", body: `{"GroupId":"g","GroupCounterKeys":["a","` + strings.Repeat("k", 129) + `"]}`, want: tally.ErrInvalidParameter, info: "129"},
		{name: "GroupId empty", body: `{"GroupId":""}`, want: tally.ErrInvalidGroupID},
		{name: "GroupId of 49 bytes", body: `{"GroupId":"` + strings.Repeat("g", 49) + `"}`, want: tally.ErrInvalidGroupID},
		{name: "no such group", body: `{"GroupId":"nope"}`, want: tally.ErrGroupNotFound, info: "nope"},
		{name: "another app's group", app: appOther, body: `{"GroupId":"g"}`, want: tally.ErrGroupNotFound},
		{name: "Community", body: `{"GroupId":"@TGS#_comm"}`, want: tally.ErrNoPermission, info: "@TGS#_comm"},
		{name: "standard edition", app: appStandard, body: `{"GroupId":"std"}`, want: tally.ErrEditionRequired, info: "standard"},
	})
	// No failure deleted anything.
	wantCounters(t, h.getCounters(t, appMain, "g"), counter{"a", 1}, counter{"b", 2}, counter{"c", 3})
}

// TestEditions shows that an app below pro gets 10059 from the three
// counter APIs while the group APIs work for it, and that pro is enough.
func TestEditions(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, app := range []uint32{appStandard, appOther} {
		t.Run(fmt.Sprint(app), func(t *testing.T) {
			wantCounter := tally.OK
			if app == appStandard {
				wantCounter = tally.ErrEditionRequired
			}
			id := h.createGroup(t, app, "Public", "")
			body := fmt.Sprintf(`{"GroupIdList":[%q]}`, id)
			wantOK(t, h.api(t, app, "get_group_info", body))
			wantOK(t, h.api(t, app, "get_appid_group_list", `{}`))
			for _, c := range []struct{ cmd, body string }{
				{"update_group_counter", `{"GroupId":%q,"GroupCounter":[{"Key":"a","Value":1}]}`},
				{"get_group_counter", `{"GroupId":%q}`},
				{"delete_group_counter", `{"GroupId":%q}`},
			} {
				wantCode(t, h.api(t, app, c.cmd, fmt.Sprintf(c.body, id)), wantCounter)
			}
			wantOK(t, h.api(t, app, "destroy_group", fmt.Sprintf(`{"GroupId":%q}`, id)))
		})
	}
}
