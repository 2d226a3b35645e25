/**
 * FNV-1a 64-bit over the UTF-8 bytes of strings, printed as 16 lowercase hex
 * digits. FNV-1a is a published, fixed algorithm (offset basis
 * 0xcbf29ce484222325, prime 0x100000001b3), so a fingerprint can be recomputed
 * in any language from the key alone. The 64-bit state is kept as two 32-bit
 * halves in small integers (BigInt is ~10x slower on this hot path): with the
 * prime 2^40 + 0x1b3, the low half is `Math.imul(low ^ byte, 0x1b3)` and the
 * high half gains the high bits of that product and the low half shifted by 8
 * (the 2^40 term), so each byte's critical path is one xor and one multiply.
 * The string is encoded to UTF-8 on the fly, so nothing is allocated per call.
 *
 * The hash is streamed: a key is fed in pieces (`update(text, start, end)`
 * reads a range of a string without slicing it), and a state can be saved
 * after a common prefix and restored, so a prefix shared by many keys is
 * hashed once. Feeding pieces gives the same digest as feeding their
 * concatenation, as long as no piece ends between the two halves of a
 * surrogate pair.
 */

const PRIME_LOW = 0x1b3;

/** A saved hash state: the high and low 32 bits, as int32. */
export interface FnvState {
  readonly high: number;
  readonly low: number;
}

const OFFSET_BASIS: FnvState = Object.freeze({ high: 0xcbf29ce4 | 0, low: 0x84222325 | 0 });

/** Char codes of the hex digits, for digest(): Number#toString(16) of a non-small integer is ~4x slower. */
const HEX = new Uint16Array([...'0123456789abcdef'].map((c) => c.charCodeAt(0)));

export class Fnv1a64 {
  private high = OFFSET_BASIS.high;
  private low = OFFSET_BASIS.low;

  reset(): this {
    return this.restore(OFFSET_BASIS);
  }

  /** Continues from a state saved by save(). */
  restore(state: FnvState): this {
    this.high = state.high;
    this.low = state.low;
    return this;
  }

  save(): FnvState {
    return { high: this.high, low: this.low };
  }

  /** Feeds the UTF-8 encoding of text[start, end) (lone surrogates as U+FFFD, as TextEncoder does). */
  update(text: string, start = 0, end = text.length): this {
    let high = this.high;
    let low = this.low;
    let i = start;
    // ASCII, one byte per character: the common case, without the multi-byte bookkeeping.
    for (; i < end; i++) {
      const byte = text.charCodeAt(i);
      if (byte >= 0x80) break;
      const x = low ^ byte;
      // (high:low ^ byte) * (2^40 + 0x1b3) mod 2^64, the carry being the high bits of x * 0x1b3.
      high = (Math.imul(high, PRIME_LOW) + (x << 8) + (((x >>> 16) * PRIME_LOW + (((x & 0xffff) * PRIME_LOW) >>> 16)) >>> 16)) | 0;
      low = Math.imul(x, PRIME_LOW);
    }
    this.high = high;
    this.low = low;
    return i < end ? this.updateUtf8(text, i, end) : this;
  }

  private updateUtf8(text: string, start: number, end: number): this {
    for (let i = start; i < end;) {
      let code = text.charCodeAt(i++);
      if (code < 0x80) {
        this.byte(code);
      } else if (code < 0x800) {
        this.byte(0xc0 | (code >> 6)).byte(0x80 | (code & 0x3f));
      } else {
        if (code >= 0xd800 && code <= 0xdfff) {
          const next = i < end ? text.charCodeAt(i) : 0;
          if (code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
            code = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
            i++;
          } else {
            code = 0xfffd;
          }
        }
        if (code >= 0x10000) this.byte(0xf0 | (code >> 18)).byte(0x80 | ((code >> 12) & 0x3f));
        else this.byte(0xe0 | (code >> 12));
        this.byte(0x80 | ((code >> 6) & 0x3f)).byte(0x80 | (code & 0x3f));
      }
    }
    return this;
  }

  private byte(byte: number): this {
    const x = this.low ^ byte;
    this.high = (Math.imul(this.high, PRIME_LOW) + (x << 8) + (((x >>> 16) * PRIME_LOW + (((x & 0xffff) * PRIME_LOW) >>> 16)) >>> 16)) | 0;
    this.low = Math.imul(x, PRIME_LOW);
    return this;
  }

  /** 16 lowercase hex digits. */
  digest(): string {
    const { high, low } = this;
    return String.fromCharCode(
      HEX[(high >>> 28) & 15]!, HEX[(high >>> 24) & 15]!, HEX[(high >>> 20) & 15]!, HEX[(high >>> 16) & 15]!,
      HEX[(high >>> 12) & 15]!, HEX[(high >>> 8) & 15]!, HEX[(high >>> 4) & 15]!, HEX[high & 15]!,
      HEX[(low >>> 28) & 15]!, HEX[(low >>> 24) & 15]!, HEX[(low >>> 20) & 15]!, HEX[(low >>> 16) & 15]!,
      HEX[(low >>> 12) & 15]!, HEX[(low >>> 8) & 15]!, HEX[(low >>> 4) & 15]!, HEX[low & 15]!,
    );
  }
}

/** One-shot FNV-1a 64 of a string's UTF-8 bytes. */
export function fnv1a64(text: string): string {
  return new Fnv1a64().update(text).digest();
}
