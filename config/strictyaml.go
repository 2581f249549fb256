package config

// A strict reader of YAML that knows nothing of Tally's settings: it
// refuses keys given twice and values of the wrong type, and every error
// it makes names the line and the setting's path, so that each setting in
// schema.go gets the same refusals and the same messages.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// document returns the root of the one YAML (or JSON) document data holds,
// with aliases resolved, or nil when it holds none: an empty file, one of
// comments only, or a lone "---". A second document is refused rather than
// ignored, since its settings would be lost without a word.
func document(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(untabJSON(data)))
	var doc yaml.Node
	if err := dec.Decode(&doc); err == io.EOF {
		return nil, nil
	} else if err != nil {
		return nil, yamlError(err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); err != io.EOF {
		if err != nil {
			return nil, yamlError(err)
		}
		return nil, fmt.Errorf("line %d: a second document; a config file holds one", next.Line)
	}
	if len(doc.Content) != 1 {
		return nil, nil
	}
	root := resolve(doc.Content[0])
	if root.ShortTag() == "!!null" {
		return nil, nil
	}
	return root, nil
}

// A field is one key and value of a mapping, with the path that names it in
// messages (for example "apps[0].admins").
type field struct {
	name     string
	path     string
	key, val *yaml.Node
}

// mappingFields returns the entries of mapping m in file order. It refuses a
// key given twice, and resolves merge keys ("<<: *base") as YAML defines
// them: keys written in m win over merged ones, and an earlier merged
// mapping wins over a later one.
func mappingFields(m *yaml.Node, path string) ([]field, error) {
	var fields []field
	seen := make(map[string]bool)
	done := make(map[*yaml.Node]bool) // each mapping is merged once, which also ends cycles
	var add func(m *yaml.Node) error
	add = func(m *yaml.Node) error {
		if done[m] {
			return nil
		}
		done[m] = true
		lines := make(map[string]int) // keys of m alone -> line
		var merges []*yaml.Node
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := resolve(m.Content[i]), m.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				return errAt(k, path, "a key must be a name, not a %s", kindName(k))
			}
			if k.ShortTag() == "!!merge" {
				merges = append(merges, v)
				continue
			}
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			if line, dup := lines[k.Value]; dup {
				return errAt(k, p, "given twice (also line %d)", line)
			}
			lines[k.Value] = k.Line
			if !seen[k.Value] {
				seen[k.Value] = true
				fields = append(fields, field{name: k.Value, path: p, key: k, val: v})
			}
		}
		for _, v := range merges {
			v = resolve(v)
			list := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				list = v.Content
			}
			for _, src := range list {
				src = resolve(src)
				if src.Kind != yaml.MappingNode {
					return errAt(src, path, "<< must merge a mapping or a list of mappings, not a %s", kindName(src))
				}
				if err := add(src); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := add(m); err != nil {
		return nil, err
	}
	return fields, nil
}

// resolve follows aliases ("*name") to the node they stand for.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// stringValue returns the text of a scalar. Unquoted numbers and booleans
// count as strings and keep their text exactly as written, so that a secret
// key of digits needs no quotes; an empty value ("key:" or null) is refused,
// since it is more likely a mistake than a wish for the default.
func stringValue(fl field) (string, error) {
	n := resolve(fl.val)
	if n.Kind == yaml.ScalarNode {
		switch n.ShortTag() {
		case "!!str", "!!int", "!!float", "!!bool", "!!timestamp":
			return n.Value, nil
		}
	}
	return "", errAt(fl.key, fl.path, "%s; must be a string", show(n))
}

func stringList(fl field) ([]string, error) {
	seq, err := sequence(fl)
	if err != nil {
		return nil, err
	}
	list := make([]string, len(seq.Content))
	for i, n := range seq.Content {
		e := field{path: fmt.Sprintf("%s[%d]", fl.path, i), key: n, val: n}
		if list[i], err = stringValue(e); err != nil {
			return nil, err
		}
	}
	return list, nil
}

func sequence(fl field) (*yaml.Node, error) {
	n := resolve(fl.val)
	if n.Kind != yaml.SequenceNode {
		return nil, errAt(fl.key, fl.path, "%s; must be a list such as [\"a\", \"b\"]", show(n))
	}
	return n, nil
}

// oneOf returns a string setting that must be one of choices.
func oneOf(fl field, choices []string) (string, error) {
	v, err := stringValue(fl)
	if err != nil {
		return "", err
	}
	if !slices.Contains(choices, v) {
		return "", errAt(fl.key, fl.path, "%s; must be one of %s", show(fl.val), strings.Join(choices, ", "))
	}
	return v, nil
}

// intValue returns the value of an integer scalar within min..max. A float
// such as 1.5 or 2e2 is refused, as is a quoted number: YAML reads both as
// something other than an integer, and so would anyone reading the file.
func intValue(n *yaml.Node, min, max int64) (int64, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		return 0, false
	}
	var v int64
	if err := n.Decode(&v); err != nil || v < min || v > max {
		return 0, false
	}
	return v, true
}

func boolValue(fl field) (bool, error) {
	n := resolve(fl.val)
	var b bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
		return false, errAt(fl.key, fl.path, "%s; must be true or false", show(n))
	}
	return b, nil
}

func unknownField(fl field) error {
	parent := strings.TrimSuffix(strings.TrimSuffix(fl.path, fl.name), ".")
	return errAt(fl.key, parent, "unknown field %q", fl.name)
}

// show describes a value for a message: scalars as written (quoted if they
// were), shortened if long, and others by kind.
func show(n *yaml.Node) string {
	n = resolve(n)
	switch {
	case n.Kind != yaml.ScalarNode:
		return "a " + kindName(n)
	case n.ShortTag() == "!!null":
		return "no value"
	}
	s, quoted := n.Value, n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0
	if r := []rune(s); len(r) > 40 {
		s, quoted = string(r[:40])+"…", true
	}
	if quoted || strings.ContainsAny(s, "\n\t") {
		return strconv.Quote(s)
	}
	return s
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "value"
}

// errAt makes an error "line N: path: message".
func errAt(n *yaml.Node, path, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	return fmt.Errorf("line %d: %s", n.Line, msg)
}

// yamlError drops the "yaml: " that yaml.v3 puts before syntax errors; the
// caller's "config <path>: " already says what was being read.
func yamlError(err error) error {
	return errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
}

// untabJSON works around yaml.v3 refusing a tab before the first token of a
// document ("found character that cannot start any token"), which a JSON
// file indented with tabs may have. Tabs inside flow collections, where the
// rest of such a file is, are accepted. Only when the document starts with
// "{" or "[" are the tabs before it replaced, by spaces, keeping the lines.
func untabJSON(data []byte) []byte {
	body := bytes.TrimPrefix(data, []byte("\ufeff"))
	rest := bytes.TrimLeft(body, " \t\r\n")
	lead := body[:len(body)-len(rest)]
	if len(rest) == 0 || (rest[0] != '{' && rest[0] != '[') || bytes.IndexByte(lead, '\t') < 0 {
		return data
	}
	out := make([]byte, 0, len(data))
	out = append(out, data[:len(data)-len(body)]...)
	out = append(out, bytes.ReplaceAll(lead, []byte("\t"), []byte(" "))...)
	return append(out, rest...)
}
