package callback

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// requestURL returns the URL a callback of command is posted to, with the
// query Tencent's documents give, in their order and case, so that a
// handler that reads it as a string (or checks Sign against it) reads it
// unchanged:
//
//	{base}?SdkAppid={id}&CallbackCommand={command}&contenttype=json&ClientIP={ip}&OptPlatform=RESTAPI
//
// and, when the app has a token, &Sign={sign}&RequestTime={t}. A base that
// has a query of its own keeps it, and the parameters follow it. Every
// callback Tally sends comes from a REST call, so OptPlatform is RESTAPI.
func requestURL(base string, sdkappid uint32, command, clientIP, token string, now time.Time) string {
	var b strings.Builder
	b.Grow(len(base) + 200)
	b.WriteString(base)
	switch {
	case !strings.Contains(base, "?"):
		b.WriteByte('?')
	case !strings.HasSuffix(base, "?") && !strings.HasSuffix(base, "&"):
		b.WriteByte('&')
	}
	b.WriteString("SdkAppid=")
	b.WriteString(strconv.FormatUint(uint64(sdkappid), 10))
	b.WriteString("&CallbackCommand=")
	b.WriteString(url.QueryEscape(command))
	b.WriteString("&contenttype=json&ClientIP=")
	b.WriteString(url.QueryEscape(clientIP))
	b.WriteString("&OptPlatform=RESTAPI")
	if token != "" {
		t := now.Unix()
		b.WriteString("&Sign=")
		b.WriteString(Sign(token, t))
		b.WriteString("&RequestTime=")
		b.WriteString(strconv.FormatInt(t, 10))
	}
	return b.String()
}

// Sign is Tencent's callback signature: the lower-case hex SHA-256 of the
// token immediately followed by the decimal Unix time t. It is a plain
// hash, not an HMAC, because that is what Tencent's handlers check.
func Sign(token string, t int64) string {
	sum := sha256.Sum256([]byte(token + strconv.FormatInt(t, 10)))
	return hex.EncodeToString(sum[:])
}
