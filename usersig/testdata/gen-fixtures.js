// gen-fixtures.js writes node-fixtures.json: UserSigs made by Tencent's
// official Node generator (npm package tls-sig-api-v2), so that the Go tests
// prove interoperability without needing Node at test time.
//
// To regenerate (the output changes every run, since the generator stamps
// the current time into each sig):
//
//   mkdir -p /tmp/tlsgen && cd /tmp/tlsgen && npm install tls-sig-api-v2@1.0.2
//   NODE_PATH=/tmp/tlsgen/node_modules \
//     node /work/main/usersig/testdata/gen-fixtures.js \
//     > /work/main/usersig/testdata/node-fixtures.json
'use strict';

var zlib = require('zlib');
var TLSSigAPIv2 = require('tls-sig-api-v2');

// A key of the form the Tencent console hands out: 64 hex characters.
var hexKey = '5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e';

var cases = [
  { name: 'normal', sdkappid: 1400000000, key: hexKey, identifier: 'xiaojun', expire: 86400 * 180 },
  { name: 'other-app', sdkappid: 1600012345, key: 'a7c1e0f39d2b4c58e6f1a0b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6', identifier: 'administrator', expire: 86400 },
  { name: 'small-appid-text-key', sdkappid: 20000001, key: 'not a hex key, just text', identifier: 'user_01-x', expire: 3600 },
  { name: 'max-appid-unicode-key', sdkappid: 4294967295, key: '密钥🔑 with spaces', identifier: 'bob', expire: 600 },
  { name: 'unicode-identifier', sdkappid: 1400000000, key: hexKey, identifier: '用户_张三🦊', expire: 86400 },
  { name: 'json-special-identifier', sdkappid: 1400000000, key: hexKey, identifier: 'a"b\\c<d>&e\tf/é', expire: 86400 },
  { name: 'long-identifier', sdkappid: 1400000000, key: hexKey, identifier: 'long_' + 'x'.repeat(250), expire: 86400 },
  { name: 'short-expiry', sdkappid: 1400000000, key: hexKey, identifier: 'shortlived', expire: 1 },
  { name: 'userbuf-bytes', sdkappid: 1400000000, key: hexKey, identifier: 'xiaojun', expire: 86400, userbuf: Buffer.from([0, 1, 2, 0xfe, 0xff, 0x7f, 0x80]) },
  { name: 'private-map-key', sdkappid: 1400000000, key: hexKey, identifier: 'xiaojun', expire: 300, privateMapKey: { roomid: 10000, privilegeMap: 255 } },
];

// decode undoes the generator's encoding, so that the TLS.time it stamped
// (and the exact document) can be recorded next to the sig.
function decode(sig) {
  var b64 = sig.replace(/\*/g, '+').replace(/-/g, '/').replace(/_/g, '=');
  return zlib.inflateSync(Buffer.from(b64, 'base64')).toString('utf8');
}

var out = cases.map(function (c) {
  var api = new TLSSigAPIv2.Api(c.sdkappid, c.key);
  var sig;
  if (c.privateMapKey) {
    sig = api.genPrivateMapKey(c.identifier, c.expire, c.privateMapKey.roomid, c.privateMapKey.privilegeMap);
  } else if (c.userbuf) {
    sig = api.genSig(c.identifier, c.expire, c.userbuf);
  } else {
    sig = api.genUserSig(c.identifier, c.expire);
  }
  var docText = decode(sig);
  var doc = JSON.parse(docText);
  var f = {
    name: c.name,
    sdkappid: c.sdkappid,
    key: c.key,
    identifier: c.identifier,
    expire: c.expire,
    time: doc['TLS.time'],
  };
  if (doc['TLS.userbuf'] !== undefined) {
    f.userbuf = doc['TLS.userbuf'];
  }
  f.doc = docText;
  f.sig = sig;
  return f;
});

process.stdout.write(JSON.stringify({
  generator: 'tls-sig-api-v2@' + require('tls-sig-api-v2/package.json').version + ' (Node ' + process.version + ')',
  fixtures: out,
}, null, 2) + '\n');
