package httpapi

import (
	"fmt"

	"github.com/valyala/fastjson"

	"github.com/tallyserver/tally"
)

// The request body's fields are read from a fastjson tree rather than
// decoded into structs: encoding/json matches names case-insensitively,
// and the protocol wants GroupId to mean GroupId and nothing else. A field
// whose value is null counts as absent, as many clients write null for an
// optional field they leave unset.

func invalid(format string, args ...any) error {
	return tally.Errorf(tally.ErrInvalidParameter, format, args...)
}

// lookup returns the field's value, or nil when it is absent or null.
func lookup(o *fastjson.Object, name string) *fastjson.Value {
	v := o.Get(name)
	if v == nil || v.Type() == fastjson.TypeNull {
		return nil
	}
	return v
}

// describe names a JSON value's type and, for short scalars, shows it, so
// that an ErrorInfo says what was sent.
func describe(v *fastjson.Value) string {
	switch v.Type() {
	case fastjson.TypeObject:
		return "an object"
	case fastjson.TypeArray:
		return "an array"
	}
	s := v.String()
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	if v.Type() == fastjson.TypeString {
		return "the string " + s
	}
	return s
}

// stringField reads an optional string field.
func stringField(o *fastjson.Object, name string) (s string, ok bool, err error) {
	v := lookup(o, name)
	if v == nil {
		return "", false, nil
	}
	return stringValue(v, name)
}

func stringValue(v *fastjson.Value, name string) (string, bool, error) {
	b, err := v.StringBytes()
	if err != nil {
		return "", false, invalid("%s must be a string, not %s", name, describe(v))
	}
	return string(b), true, nil
}

// requiredString reads a string field that must be present.
func requiredString(o *fastjson.Object, name string) (string, error) {
	s, ok, err := stringField(o, name)
	if err == nil && !ok {
		err = invalid("%s is required", name)
	}
	return s, err
}

// requiredStringAt reads the string field key of o, an element of a list
// at path, naming it path.key in messages.
func requiredStringAt(o *fastjson.Object, path, key string) (string, error) {
	v := lookup(o, key)
	if v == nil {
		return "", invalid("%s.%s is required", path, key)
	}
	s, _, err := stringValue(v, path+"."+key)
	return s, err
}

// groupID reads the GroupId field that most commands take.
func groupID(o *fastjson.Object) (string, error) {
	id, err := requiredString(o, "GroupId")
	if err != nil {
		return "", err
	}
	return id, tally.CheckGroupID(id)
}

// intField reads an optional integer field that must lie in [min, max].
func intField(o *fastjson.Object, name string, min, max int64) (n int64, ok bool, err error) {
	v := lookup(o, name)
	if v == nil {
		return 0, false, nil
	}
	n, err = intValue(v, name, min, max)
	return n, err == nil, err
}

// intValue reads a JSON integer that lies in [min, max]. 5.0, 1e3, "5" and
// numbers out of range are refused: the protocol's values are exact.
func intValue(v *fastjson.Value, name string, min, max int64) (int64, error) {
	if v.Type() == fastjson.TypeNumber {
		// Int64 parses the number's text in place, as strconv.ParseInt
		// would (digits and a sign, else an error; past 18 digits it is
		// ParseInt), where v.String would allocate that text for every
		// counter of a call.
		if n, err := v.Int64(); err == nil && n >= min && n <= max {
			return n, nil
		}
	}
	return 0, invalid("%s must be an integer from %d to %d, not %s", name, min, max, describe(v))
}

// arrayField reads an optional array field.
func arrayField(o *fastjson.Object, name string) ([]*fastjson.Value, bool, error) {
	return arrayAt(o, name, name, "an array")
}

// arrayAt reads the optional array name of o, naming it path, and what it
// must be, in messages.
func arrayAt(o *fastjson.Object, name, path, what string) ([]*fastjson.Value, bool, error) {
	v := lookup(o, name)
	if v == nil {
		return nil, false, nil
	}
	a, err := v.Array()
	if err != nil {
		return nil, false, invalid("%s must be %s, not %s", path, what, describe(v))
	}
	return a, true, nil
}

// counterKeys reads GroupCounterKeys of get and delete: absent, null or []
// all mean every key.
func counterKeys(o *fastjson.Object) ([]string, error) {
	a, _, err := arrayField(o, "GroupCounterKeys")
	if err != nil {
		return nil, err
	}
	keys := make([]string, len(a))
	for i, v := range a {
		name := counterKeysName(i)
		k, _, err := stringValue(v, name)
		if err != nil {
			return nil, err
		}
		if err := tally.CheckCounterKey(name, k); err != nil {
			return nil, err
		}
		keys[i] = k
	}
	return keys, nil
}

// optString reads an optional string field; nil means absent.
func optString(o *fastjson.Object, name string) (*string, error) {
	s, ok, err := stringField(o, name)
	if err != nil || !ok {
		return nil, err
	}
	return &s, nil
}

// objectValue reads v as an object; name is the field it came from.
func objectValue(v *fastjson.Value, name string) (*fastjson.Object, error) {
	o, err := v.Object()
	if err != nil {
		return nil, invalid("%s must be an object, not %s", name, describe(v))
	}
	return o, nil
}

// stringList reads an optional array of strings.
func stringList(o *fastjson.Object, name string) ([]string, bool, error) {
	return stringListAt(o, name, name)
}

// stringListAt reads the optional array of strings name of o, naming it
// path in messages.
func stringListAt(o *fastjson.Object, name, path string) ([]string, bool, error) {
	a, ok, err := arrayAt(o, name, path, "an array of strings")
	if err != nil || !ok {
		return nil, ok, err
	}
	out := make([]string, len(a))
	for i, v := range a {
		if out[i], _, err = stringValue(v, fmt.Sprintf("%s[%d]", path, i)); err != nil {
			return nil, false, err
		}
	}
	return out, true, nil
}

// userIDList reads a required array of 1..max UserIDs.
func userIDList(o *fastjson.Object, name string, max int) ([]string, error) {
	ids, ok, err := stringList(o, name)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, invalid("%s is required", name)
	}
	if len(ids) == 0 || len(ids) > max {
		return nil, invalid("%s has %d accounts; give 1 to %d", name, len(ids), max)
	}
	for i, id := range ids {
		if err := tally.CheckUserID(fmt.Sprintf("%s[%d]", name, i), id); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// userID reads a required UserID field.
func userID(o *fastjson.Object, name string) (string, error) {
	id, err := requiredString(o, name)
	if err != nil {
		return "", err
	}
	return id, tally.CheckUserID(name, id)
}

// flagField reads an optional field that is 0 or 1.
func flagField(o *fastjson.Object, name string) (bool, error) {
	n, _, err := intField(o, name, 0, 1)
	return n == 1, err
}

// joinOption reads an optional ApplyJoinOption or InviteJoinOption.
func joinOption(o *fastjson.Object, name string) (*tally.JoinOption, error) {
	s, err := optString(o, name)
	if err != nil || s == nil {
		return nil, err
	}
	opt := tally.JoinOption(*s)
	return &opt, nil
}

// customFields reads an optional array of {"Key":s,"Value":s}, a group's
// AppDefinedData or a member's AppMemberDefinedData. Their limits are the
// domain's to check. name is the field of o; path names it in messages.
func customFields(o *fastjson.Object, name, path string) ([]tally.CustomField, bool, error) {
	a, ok, err := arrayAt(o, name, path, "an array")
	if err != nil || !ok {
		return nil, ok, err
	}
	out := make([]tally.CustomField, len(a))
	for i, v := range a {
		field := fmt.Sprintf("%s[%d]", path, i)
		item, err := objectValue(v, field)
		if err != nil {
			return nil, false, err
		}
		if out[i].Key, err = requiredStringAt(item, field, "Key"); err != nil {
			return nil, false, err
		}
		if out[i].Value, err = requiredStringAt(item, field, "Value"); err != nil {
			return nil, false, err
		}
	}
	return out, true, nil
}

// counterKeysNames are the names of GroupCounterKeys' first items, made
// once rather than on every get and delete, for the errors that name them.
var counterKeysNames = func() (names [tally.MaxCountersPerCall]string) {
	for i := range names {
		names[i] = fmt.Sprintf("GroupCounterKeys[%d]", i)
	}
	return names
}()

func counterKeysName(i int) string {
	if i < len(counterKeysNames) {
		return counterKeysNames[i]
	}
	return fmt.Sprintf("GroupCounterKeys[%d]", i)
}
