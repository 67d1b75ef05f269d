'use strict';

// The test byte stream of wsstream's tests: byte off of stream seed is a
// hash of both, so that a byte lost, repeated or moved is noticed. It must
// compute the same bytes as patternByte in hostile_test.go.
function patternByte(seed, off) {
  let h = (off ^ Math.imul(seed, 0x9e3779b9)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h & 0xff;
}

// fill sets buf (a Uint8Array) to the bytes of stream seed from off on.
function fill(buf, seed, off) {
  for (let i = 0; i < buf.length; i++) buf[i] = patternByte(seed, off + i);
  return buf;
}

// firstMismatch returns the index of the first byte of buf that is not
// the byte of stream seed at off + index, or -1.
function firstMismatch(buf, seed, off) {
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] !== patternByte(seed, off + i)) return i;
  }
  return -1;
}

// A small deterministic random generator (xorshift32) for chunk sizes.
function rng(seed) {
  let x = (seed | 0) || 1;
  return (n) => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    return ((x >>> 0) % n);
  };
}

if (typeof module !== 'undefined') module.exports = { patternByte, fill, firstMismatch, rng };
