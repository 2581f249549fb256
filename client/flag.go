package client

import "fmt"

// Flag is one of the protocol's fields that are the integer 0 or 1, such
// as Silence and SupportTopic, held as a bool. Left false, it is not sent:
// every such field means 0 when absent.
type Flag bool

func (f Flag) MarshalJSON() ([]byte, error) {
	if f {
		return []byte("1"), nil
	}
	return []byte("0"), nil
}

func (f *Flag) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case "1":
		*f = true
	case "0", "null":
		*f = false
	default:
		return fmt.Errorf("a flag must be 0 or 1, not %s", b)
	}
	return nil
}
