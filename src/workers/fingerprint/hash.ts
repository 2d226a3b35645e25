/**
 * FNV-1a 64-bit over the UTF-8 bytes of strings, printed as 16 lowercase hex
 * digits. FNV-1a is a published, fixed algorithm (offset basis
 * 0xcbf29ce484222325, prime 0x100000001b3), so a fingerprint can be recomputed
 * in any language from the key alone.
 *
 * The 64-bit state is two 32-bit halves in small integers (BigInt is ~10x
 * slower on this hot path): with the prime 2^40 + 0x1b3, the low half becomes
 * `Math.imul(low ^ byte, 0x1b3)` and the high half gains the high bits of
 * that product and the low half shifted by 8 (the 2^40 term), so each byte's
 * critical path is one xor and one multiply. Strings are encoded to UTF-8 by
 * TextEncoder#encodeInto into a buffer that is reused, so nothing is
 * allocated per call but its small result object.
 *
 * A state can be saved after a common prefix and restored, so a prefix shared
 * by many keys is hashed once; feeding two strings gives the digest of their
 * concatenation.
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

const encoder = new TextEncoder();

export class Fnv1a64 {
  private high = OFFSET_BASIS.high;
  private low = OFFSET_BASIS.low;
  /**
   * UTF-8 of the text being fed, encoded natively (TextEncoder#encodeInto) a
   * chunk at a time: the byte loop then reads one kind of array whatever the
   * string's representation (flat, sliced, concatenated, one- or two-byte),
   * which charCodeAt in a loop does not (its optimised code varied 3x with it).
   */
  private readonly bytes = new Uint8Array(16384);

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

  /** Feeds the UTF-8 encoding of `text` (lone surrogates as U+FFFD, as TextEncoder does). */
  update(text: string): this {
    let rest = text;
    for (;;) {
      const { read, written } = encoder.encodeInto(rest, this.bytes);
      this.feed(written);
      if (read >= rest.length) return this;
      rest = rest.slice(read); // encodeInto stops between characters, never inside one
    }
  }

  /** Hashes bytes[0, count). */
  private feed(count: number): void {
    const bytes = this.bytes;
    let high = this.high;
    let low = this.low;
    for (let i = 0; i < count; i++) {
      const x = low ^ bytes[i]!;
      // (high:low ^ byte) * (2^40 + 0x1b3) mod 2^64, the carry being the high bits of x * 0x1b3.
      high = (Math.imul(high, PRIME_LOW) + (x << 8) + (((x >>> 16) * PRIME_LOW + (((x & 0xffff) * PRIME_LOW) >>> 16)) >>> 16)) | 0;
      low = Math.imul(x, PRIME_LOW);
    }
    this.high = high;
    this.low = low;
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
