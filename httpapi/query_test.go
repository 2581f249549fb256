package httpapi

import (
	"net/url"
	"testing"
)

// FuzzParseQuery checks the hand-written query parser against
// url.ParseQuery, which it replaces on the hot path: both must accept the
// same queries and read the same parameters.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		"sdkappid=1400000001&identifier=admin&usersig=eJw&random=99&contenttype=json",
		"sdkappid=1&sdkappid=2&identifier=a%20b&usersig=x+y",
		"random=&contenttype=JSON",
		"a=%zz", "a;b=c", "&&=&", "identifier=%E4%BD%A0", "usersig=a%2Bb%3D%3D",
		"random=4294967296", "contenttype=json&contenttype=xml", "=x&sdkappid",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := parseQuery(raw)
		vals, verr := url.ParseQuery(raw)
		if verr != nil {
			if err == nil {
				t.Fatalf("%q: url.ParseQuery refuses it (%v) but parseQuery accepts it", raw, verr)
			}
			return
		}
		if err != nil {
			// Refusals after a successful parse are parseQuery's own checks.
			if r, ok := vals["random"]; ok && !validRandom(r[0]) {
				return
			}
			if c, ok := vals["contenttype"]; ok && c[0] != "json" {
				return
			}
			t.Fatalf("%q: parseQuery refuses it (%v) but url.ParseQuery accepts it", raw, err)
		}
		if q.sdkappid != vals.Get("sdkappid") || q.identifier != vals.Get("identifier") || q.usersig != vals.Get("usersig") {
			t.Fatalf("%q: parseQuery read %+v, url.ParseQuery %v", raw, q, vals)
		}
	})
}

func validRandom(s string) bool {
	_, err := parseQuery("random=" + url.QueryEscape(s))
	return err == nil
}
