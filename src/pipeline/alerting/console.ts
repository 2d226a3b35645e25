/**
 * Local mode without Slack: each message rendered as readable text, appended
 * to a file (when one is configured) and handed to `print` (the consumer logs
 * it; `cali local` shows it). Thread replies, updates and late analyses keep
 * their meaning through a reference to the alert they belong to.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DeliveryError, type Destination, type MessageRef, type OutboundMessage } from './delivery.js';
import { messageToText } from './message.js';

export class ConsoleDestination implements Destination {
  readonly name = 'console';
  readonly threads = true;
  private sequence = 0;
  private ready: Promise<unknown> | undefined;

  constructor(private readonly file: string | undefined, private readonly print: (text: string, message: OutboundMessage) => void) {}

  async deliver(message: OutboundMessage): Promise<MessageRef | undefined> {
    const ref = message.replaces ?? { channel: 'console', ts: `alert-${process.pid}-${++this.sequence}` };
    const prefix = message.replaces !== undefined
      ? `[update of ${message.replaces.ts}] `
      : message.threadOf !== undefined ? `[reply to ${message.threadOf.ts}] ` : `[${ref.ts}] `;
    const text = `${prefix}${messageToText(message)}`;
    if (this.file !== undefined) {
      try {
        this.ready ??= mkdir(dirname(this.file), { recursive: true });
        await this.ready;
        // One write per message: appends from several consumer processes do not interleave.
        await appendFile(this.file, `${new Date().toISOString()} ${text}\n\n`);
      } catch (error) {
        throw new DeliveryError((error as NodeJS.ErrnoException).code ?? 'write_failed', true);
      }
    }
    this.print(text, message);
    return ref;
  }
}
