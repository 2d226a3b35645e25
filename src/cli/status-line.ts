/**
 * A live status line on stderr: rewritten in place on a terminal; on a pipe or
 * in CI, printed as plain lines at most every `plainIntervalMs` so logs stay short.
 */
export class StatusLine {
  private lastPlainMs = 0;
  private lastText = '';

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly plainIntervalMs = 5_000,
  ) {}

  update(text: string): void {
    this.lastText = text;
    if (this.stream.isTTY) {
      this.stream.write(`\r\x1b[K${text}`);
      return;
    }
    const now = Date.now();
    if (now - this.lastPlainMs >= this.plainIntervalMs) {
      this.lastPlainMs = now;
      this.stream.write(`${text}\n`);
    }
  }

  /** A line of its own above the status line (an incident, a warning). */
  print(text: string): void {
    this.stream.write(this.stream.isTTY ? `\r\x1b[K${text}\n${this.lastText}` : `${text}\n`);
  }

  /** Leaves the final state on its own line. */
  done(text = this.lastText): void {
    this.stream.write(this.stream.isTTY ? `\r\x1b[K${text}\n` : `${text}\n`);
  }
}
