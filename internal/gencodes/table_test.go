package main

import (
	"strings"
	"testing"
)

func TestParseRefuses(t *testing.T) {
	const ok = `{"code": 0, "name": "OK", "doc": "d"}`
	for _, c := range []struct {
		name, table, want string
	}{
		{"repeated code", `[` + ok + `,{"code": 5, "name": "ErrA", "doc": "d"},{"code": 5, "name": "ErrB", "doc": "d"}]`,
			"ErrB: code 5 is also ErrA's"},
		{"repeated name", `[` + ok + `,{"code": 5, "name": "ErrA", "doc": "d"},{"code": 6, "name": "ErrA", "doc": "d"}]`,
			"ErrA: the name is also code 5's"},
		{"out of order", `[` + ok + `,{"code": 6, "name": "ErrA", "doc": "d"},{"code": 5, "name": "ErrB", "doc": "d"}]`,
			"ErrB: code 5 comes after ErrA's 6"},
		{"no OK first", `[{"code": 5, "name": "ErrA", "doc": "d"}]`, "the first row must be OK"},
		{"bad name", `[` + ok + `,{"code": 5, "name": "BadThing", "doc": "d"}]`, `name "BadThing" must be`},
		{"no doc", `[` + ok + `,{"code": 5, "name": "ErrA"}]`, "ErrA: doc is empty"},
		{"unknown field", `[` + ok + `,{"code": 5, "name": "ErrA", "doc": "d", "mesage": "m"}]`, `unknown field "mesage"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := parse([]byte(c.table))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("parse: %v, want an error containing %q", err, c.want)
			}
		})
	}
}

// TestGeneratedIsFresh fails when errors_gen.go is not what errors.json
// makes, as .ci/run's -check does, so that a stale file is caught by the
// tests too.
func TestGeneratedIsFresh(t *testing.T) {
	if err := run("../../errors.json", "../../errors_gen.go", true); err != nil {
		t.Fatal(err)
	}
}
