/**
 * FNV-1a 64-bit over the UTF-8 bytes of strings, printed as 16 lowercase hex
 * digits. FNV-1a is a published, fixed algorithm (offset basis
 * 0xcbf29ce484222325, prime 0x100000001b3), so a fingerprint can be recomputed
 * in any language from the key alone. The 64-bit state is kept as two 32-bit
 * halves in plain numbers (no BigInt: ~10x slower on this hot path), and the
 * string is encoded to UTF-8 on the fly, so nothing is allocated per call.
 */

const TWO_POW_32 = 4294967296;
/** Low 32 bits of the FNV prime 2^40 + 0x1b3; its high part (2^40) is applied as a shift. */
const PRIME_LOW = 0x1b3;

export class Fnv1a64 {
  private high = 0xcbf29ce4;
  private low = 0x84222325;

  reset(): this {
    this.high = 0xcbf29ce4;
    this.low = 0x84222325;
    return this;
  }

  /** Feeds the UTF-8 encoding of `text` (lone surrogates as U+FFFD, as TextEncoder does). */
  update(text: string): this {
    const length = text.length;
    for (let i = 0; i < length; i++) {
      let code = text.charCodeAt(i);
      if (code < 0x80) {
        this.byte(code);
        continue;
      }
      if (code < 0x800) {
        this.byte(0xc0 | (code >> 6));
        this.byte(0x80 | (code & 0x3f));
        continue;
      }
      if (code >= 0xd800 && code <= 0xdfff) {
        const next = i + 1 < length ? text.charCodeAt(i + 1) : 0;
        if (code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          code = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
          i++;
          this.byte(0xf0 | (code >> 18));
          this.byte(0x80 | ((code >> 12) & 0x3f));
          this.byte(0x80 | ((code >> 6) & 0x3f));
          this.byte(0x80 | (code & 0x3f));
          continue;
        }
        code = 0xfffd;
      }
      this.byte(0xe0 | (code >> 12));
      this.byte(0x80 | ((code >> 6) & 0x3f));
      this.byte(0x80 | (code & 0x3f));
    }
    return this;
  }

  /** 16 lowercase hex digits. */
  digest(): string {
    return hex8(this.high) + hex8(this.low);
  }

  private byte(value: number): void {
    const low = (this.low ^ value) >>> 0;
    // (high * 2^32 + low) * (2^40 + 0x1b3) mod 2^64, in halves: low * 0x1b3 is
    // below 2^41 (exact in a double); its carry and low << 8 (the 2^40 term)
    // land in the high half.
    const lowProduct = low * PRIME_LOW;
    const carry = Math.floor(lowProduct / TWO_POW_32);
    this.high = (Math.imul(this.high, PRIME_LOW) + (low << 8) + carry) >>> 0;
    this.low = lowProduct >>> 0;
  }
}

function hex8(value: number): string {
  return value.toString(16).padStart(8, '0');
}

/** One-shot FNV-1a 64 of a string's UTF-8 bytes. */
export function fnv1a64(text: string): string {
  return new Fnv1a64().update(text).digest();
}
