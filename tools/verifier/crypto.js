// The browser verifier's signature checks (docs/browser-verifier.md), bundled by
// tools/build_verifier.py with esbuild. Synchronous on purpose: the Python verifier calls them
// in the middle of its loop (sunvote/domain/ledger/crypto.py, JsBackend in
// sunvote/verify_browser.py), and WebCrypto only answers with promises.
// The options keep the semantics of the server's `cryptography`: Ed25519 as RFC 8032 with
// canonical encodings (zip215: false), ECDSA P-256 over SHA-256 of the message with r || s
// signatures and high s accepted (lowS: false), as OpenSSL and WebCrypto do.
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';

globalThis.sunvoteCrypto = {
  ed25519(publicKey, signature, message) {
    try {
      return ed25519.verify(signature, message, publicKey, { zip215: false });
    } catch (e) {
      return false;
    }
  },
  p256(point, signature, message) {
    try {
      return p256.verify(signature, message, point,
        { lowS: false, prehash: true, format: 'compact' });
    } catch (e) {
      return false;
    }
  },
  p256Point(point) {
    try {
      if (point.length !== 65 || point[0] !== 4) return false;
      p256.Point.fromBytes(point).assertValidity();
      return true;
    } catch (e) {
      return false;
    }
  },
};
