/**
 * Loaded with `node -r` into the kinesis-mock child (see kinesis.ts), before
 * the emulator's own code runs.
 *
 * 1. kinesis-mock binds 0.0.0.0 and has no option to change it; an emulator
 *    that accepts writes from the network is not acceptable on a laptop or a
 *    CI runner, so every TCP listen is forced onto loopback.
 * 2. The child must not outlive its parent, even when the parent is
 *    SIGKILLed and cannot run any cleanup. The parent holds the only write
 *    end of our stdin pipe; the kernel closes it when the parent dies in any
 *    way, so end-of-file on stdin means "parent gone".
 */
import net = require('node:net');

const LOOPBACK = '127.0.0.1';

const originalListen = net.Server.prototype.listen;

function isPort(value: unknown): boolean {
  return typeof value === 'number' || (typeof value === 'string' && /^\d+$/.test(value));
}

net.Server.prototype.listen = function listenOnLoopback(this: net.Server, ...args: unknown[]): net.Server {
  const [first, second] = args;
  if (isPort(first)) {
    // listen(port[, host][, backlog][, callback]): replace or insert the host.
    if (typeof second === 'string') args[1] = LOOPBACK;
    else args.splice(1, 0, LOOPBACK);
  } else if (typeof first === 'object' && first !== null && 'port' in first) {
    args[0] = { ...first, host: LOOPBACK };
  }
  return Reflect.apply(originalListen, this, args) as net.Server;
} as typeof originalListen;

// Bound before the emulator's code runs: it replaces process.exit with a
// graceful shutdown that waits on its own fibers. SIGKILL cannot be delayed.
const kill = process.kill.bind(process);
const pid = process.pid;

function parentGone(): void {
  kill(pid, 'SIGKILL');
}

process.stdin.on('end', parentGone);
process.stdin.on('close', parentGone);
process.stdin.on('error', parentGone);
process.stdin.resume();
