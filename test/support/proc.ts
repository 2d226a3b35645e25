/**
 * Linux /proc helpers for tests that check process trees and listening
 * sockets without depending on ps/ss being installed.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

function stat(pid: number): { state: string; ppid: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const [state, ppid] = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return state === undefined ? undefined : { state, ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

/** A zombie counts as dead: an orphan re-parented to a PID 1 that does not reap stays one. */
export function isAlive(pid: number): boolean {
  const info = stat(pid);
  return info !== undefined && info.state !== 'Z';
}

export async function waitUntilDead(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

function pids(): number[] {
  return readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map(Number);
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/** Live Kinesis emulator processes whose parent is `ppid`. */
export function kinesisChildren(ppid: number): number[] {
  return pids().filter((pid) => stat(pid)?.ppid === ppid && isAlive(pid) && cmdline(pid).includes('kinesis-local'));
}

/** Live processes whose environment holds exactly NAME=value. */
export function processesWithEnv(name: string, value: string): number[] {
  const needle = `${name}=${value}`;
  return pids().filter((pid) => {
    try {
      return isAlive(pid) && readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(needle);
    } catch {
      return false;
    }
  });
}

interface Listener {
  address: string;
  port: number;
  inode: string;
}

function decodeAddress(hex: string): { address: string; port: number } {
  const [host = '', port = ''] = hex.split(':');
  if (host.length === 8) {
    // /proc/net/tcp stores IPv4 in host byte order (little-endian here).
    const bytes = host.match(/../g)?.map((byte) => parseInt(byte, 16)).reverse() ?? [];
    return { address: bytes.join('.'), port: parseInt(port, 16) };
  }
  return { address: `ipv6:${host}`, port: parseInt(port, 16) };
}

/** Every listening TCP socket on this host (this network namespace). */
export function tcpListeners(): Listener[] {
  const listeners: Listener[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.trim().split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const [local, state, inode] = [fields[1], fields[3], fields[9]];
      if (local === undefined || state !== '0A' || inode === undefined) continue;
      listeners.push({ ...decodeAddress(local), inode });
    }
  }
  return listeners;
}

/** The socket inodes a process holds open. */
export function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match?.[1]) inodes.add(match[1]);
    } catch {
      // closed between readdir and readlink
    }
  }
  return inodes;
}
