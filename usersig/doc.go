// Package usersig signs and verifies Tencent Cloud Chat UserSigs (TLS sig
// version 2), the credential every REST request carries.
//
// A UserSig is a small JSON document naming the app (TLS.sdkappid), the user
// (TLS.identifier), when it was issued (TLS.time) and for how many seconds it
// stays valid (TLS.expire), together with an HMAC-SHA256 over those fields
// keyed with the app's secret key (TLS.sig). The document is zlib-compressed
// and encoded in a base64 variant that uses '*', '-' and '_' in place of '+',
// '/' and '=', so that it survives a URL query string unescaped.
//
// The package interoperates with Tencent's official tls-sig-api-v2
// generators: a sig from any of them verifies here, and a sig from Sign
// verifies with Tencent. Because Decode runs on every request with input
// from the network, decoding is bounded at every step (input length,
// decompressed size, field types) and every failure is a *tally.Error with
// one of the UserSig codes, so the HTTP layer can answer it as is.
package usersig
