/**
 * FNV-1a 64-bit over the UTF-8 bytes of strings, printed as 16 lowercase hex
 * digits. FNV-1a is a published, fixed algorithm (offset basis
 * 0xcbf29ce484222325, prime 0x100000001b3), so a fingerprint can be recomputed
 * in any language from the key alone. The 64-bit state is kept as four 16-bit
 * limbs in small integers (BigInt is ~10x slower on this hot path), and the
 * string is encoded to UTF-8 on the fly, so nothing is allocated per call.
 */

/** The FNV prime 2^40 + 0x1b3 times a 16-bit limb: the 0x1b3 part, and the 2^40 part as an 8-bit shift two limbs up. */
const PRIME_LOW = 0x1b3;

export class Fnv1a64 {
  // Four 16-bit limbs, least significant first: every product stays a small integer (no doubles, no BigInt).
  private v0 = 0x2325;
  private v1 = 0x8422;
  private v2 = 0x9ce4;
  private v3 = 0xcbf2;

  reset(): this {
    this.v0 = 0x2325;
    this.v1 = 0x8422;
    this.v2 = 0x9ce4;
    this.v3 = 0xcbf2;
    return this;
  }

  /** Feeds the UTF-8 encoding of `text` (lone surrogates as U+FFFD, as TextEncoder does). */
  update(text: string): this {
    let v0 = this.v0;
    let v1 = this.v1;
    let v2 = this.v2;
    let v3 = this.v3;
    const length = text.length;
    let pending = 0; // bytes of a multi-byte character still to feed, most significant first
    let bytes = 0;
    for (let i = 0; i < length || pending > 0;) {
      let byte: number;
      if (pending > 0) {
        pending--;
        byte = 0x80 | ((bytes >> (6 * pending)) & 0x3f);
      } else {
        let code = text.charCodeAt(i++);
        if (code < 0x80) {
          byte = code;
        } else if (code < 0x800) {
          byte = 0xc0 | (code >> 6);
          bytes = code;
          pending = 1;
        } else {
          if (code >= 0xd800 && code <= 0xdfff) {
            const next = i < length ? text.charCodeAt(i) : 0;
            if (code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
              code = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
              i++;
            } else {
              code = 0xfffd;
            }
          }
          if (code >= 0x10000) {
            byte = 0xf0 | (code >> 18);
            pending = 3;
          } else {
            byte = 0xe0 | (code >> 12);
            pending = 2;
          }
          bytes = code;
        }
      }
      v0 ^= byte;
      const t0 = v0 * PRIME_LOW;
      const t1 = v1 * PRIME_LOW + (t0 >>> 16);
      const t2 = v2 * PRIME_LOW + (v0 << 8) + (t1 >>> 16);
      v3 = (v3 * PRIME_LOW + (v1 << 8) + (t2 >>> 16)) & 0xffff;
      v0 = t0 & 0xffff;
      v1 = t1 & 0xffff;
      v2 = t2 & 0xffff;
    }
    this.v0 = v0;
    this.v1 = v1;
    this.v2 = v2;
    this.v3 = v3;
    return this;
  }

  /** 16 lowercase hex digits. */
  digest(): string {
    return hex8(this.v3 * 0x10000 + this.v2) + hex8(this.v1 * 0x10000 + this.v0);
  }
}

function hex8(value: number): string {
  return value.toString(16).padStart(8, '0');
}

/** One-shot FNV-1a 64 of a string's UTF-8 bytes. */
export function fnv1a64(text: string): string {
  return new Fnv1a64().update(text).digest();
}
