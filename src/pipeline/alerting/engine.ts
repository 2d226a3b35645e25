/**
 * The alerting engine: the pipeline's IncidentSink, one per process, on the
 * main thread. Workers pre-aggregate candidates per fingerprint and batch;
 * the engine merges what arrives while it is busy (bounded by fingerprints,
 * not records), applies silences and rules, keeps throttle windows in a
 * bounded LRU, and uses the alert table to decide across replicas:
 *
 * - a fingerprint with no open window: threshold (if any), then a claim; the
 *   winner sends the alert at once (after at most the analysis budget), the
 *   others count into the window;
 * - repeats in an open window: counted locally and added to the table every
 *   flush interval (atomic ADD), never sent one by one;
 * - every sweep interval: alerts that nobody sent in time are taken over and
 *   sent; with a bot token the sender updates its root message with the live
 *   count (at most every update interval); windows past their end plus grace
 *   are closed by one replica, which
 *   sends the digest of the repeats (a thread reply plus chat.update of the
 *   root with a bot token; a separate message with a webhook).
 *
 * publish() never waits and never throws: alerting is not a required sink,
 * so a slow table or Slack outage never holds a checkpoint back.
 */
import { LRUCache } from 'lru-cache';
import { sleep } from '../../sleep.js';
import type { IncidentCandidate } from '../../workers/protocol.js';
import { MAX_PODS_PER_CANDIDATE } from '../../workers/protocol.js';
import type { IncidentAnalysis, IncidentAnalyzer } from '../rag/analysis.js';
import type { IncidentSink } from '../record-pipeline.js';
import type { IncidentCount, IncidentRecord } from '../sinks/opensearch/incidents.js';
import { snapshotOf, type AlertSnapshot, type WindowFacts } from './alert.js';
import type { AlertStore, Occurrences, WindowRecord, WindowRef } from './alert-store.js';
import type { AlertingSettings } from './config.js';
import { DeliveryQueue, type Destination, type MessageRef } from './delivery.js';
import { AlertEventBus, type AlertingStatus, type OpenWindowSummary } from './events.js';
import { renderAlert, renderAnalysis, renderDigest } from './message.js';
import { ruleFor, silenceFor } from './rules.js';

/** Distinct fingerprints waiting for the engine; beyond, candidates are dropped (and reported). */
const MAX_PENDING_FINGERPRINTS = 10_000;
const HANDLE_CONCURRENCY = 8;
const STORE_RETRY_MS = 1_000;

interface LocalWindow {
  readonly ref: WindowRef;
  readonly owned: boolean;
  readonly service: string;
  readonly snapshot: AlertSnapshot;
  /** Occurrences seen here, for /status. */
  seen: number;
  /** Counted here, not yet added to the table. */
  pending: number;
  pendingPods: Set<string>;
  pendingFirstMs: number;
  pendingLastMs: number;
}

/** Where sent alerts and their analyses are kept for search (the OpenSearch incidents index); never holds delivery up. */
export interface IncidentLog {
  recordIncident(incident: IncidentRecord): Promise<void>;
  recordAnalysis(fingerprint: string, windowOpenedAtMs: number, analysis: IncidentAnalysis): Promise<void>;
  /** The window's final count once its digests are out (again if a late flush reopens its close). */
  recordCount(fingerprint: string, windowOpenedAtMs: number, count: IncidentCount): Promise<void>;
}

export interface AlertingEngineOptions {
  readonly settings: AlertingSettings;
  readonly store: AlertStore;
  /** The destination for a route (a channel with a bot token; one for all with a webhook or the console). */
  readonly destinationFor: (route: string | undefined) => Destination;
  /** This replica's id (CALI_WORKER_ID): the owner of its claims. */
  readonly owner: string;
  readonly events?: AlertEventBus;
  readonly analyzer?: IncidentAnalyzer | undefined;
  readonly incidentLog?: IncidentLog | undefined;
  readonly clock?: () => number;
  /** Table and internal failures, for the log (alerting goes on). */
  readonly onError?: (error: unknown, context: string) => void;
}

function mergeInto(target: IncidentCandidate, c: IncidentCandidate): void {
  target.count += c.count;
  if (c.firstSeenMs < target.firstSeenMs) target.firstSeenMs = c.firstSeenMs;
  if (c.lastSeenMs > target.lastSeenMs) target.lastSeenMs = c.lastSeenMs;
  for (const pod of c.pods) if (target.pods.length < MAX_PODS_PER_CANDIDATE && !target.pods.includes(pod)) target.pods.push(pod);
}

const key = (ref: Pick<WindowRef, 'fingerprint' | 'windowId'>): string => `${ref.fingerprint}#${ref.windowId}`;

export class AlertingEngine implements IncidentSink, AlertingStatus {
  readonly events: AlertEventBus;
  private readonly settings: AlertingSettings;
  private readonly store: AlertStore;
  private readonly clock: () => number;
  private readonly windows: LRUCache<string, LocalWindow>;
  private readonly orphans: LocalWindow[] = [];
  private incoming = new Map<string, IncidentCandidate>();
  private draining: Promise<void> | undefined;
  private readonly queues = new Map<string, DeliveryQueue>();
  /** Alerts this replica is sending now: a sweep must not take them over. */
  private readonly sending = new Set<string>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly analyses = new Set<AbortController>();
  /** Root messages this replica updated with a live count: when, and with what total. */
  private readonly updated = new LRUCache<string, { atMs: number; total: number }>({ max: 10_000 });
  private timers: NodeJS.Timeout[] = [];
  private sweeping: Promise<void> | undefined;
  private flushing: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: AlertingEngineOptions) {
    this.settings = options.settings;
    this.store = options.store;
    this.events = options.events ?? new AlertEventBus();
    this.clock = options.clock ?? Date.now;
    this.windows = new LRUCache<string, LocalWindow>({
      max: this.settings.throttle.maxWindows,
      ttlAutopurge: true,
      // Evicted or expired with counts not yet in the table: flushed by the next tick, never dropped.
      dispose: (window) => {
        if (window.pending > 0) this.orphans.push(window);
      },
    });
  }

  start(): void {
    const { flushIntervalMs, sweepIntervalMs } = this.settings.throttle;
    this.timers.push(setInterval(() => void this.flush(), flushIntervalMs).unref());
    this.timers.push(setInterval(() => void this.sweep(), sweepIntervalMs).unref());
  }

  publish(_shardId: string, candidates: readonly IncidentCandidate[]): void {
    if (this.stopped) return;
    for (const c of candidates) this.enqueue(c);
    this.kick();
  }

  private enqueue(c: IncidentCandidate): void {
    const existing = this.incoming.get(c.fingerprint);
    if (existing !== undefined) {
      mergeInto(existing, c);
    } else if (this.incoming.size >= MAX_PENDING_FINGERPRINTS) {
      this.events.emit('alert.dropped', { destination: 'engine', kind: 'alert', reason: 'queue_full' });
    } else {
      // A copy: the pipeline's candidate objects go on to other listeners.
      this.incoming.set(c.fingerprint, { ...c, pods: [...c.pods] });
    }
  }

  private kick(): void {
    if (this.draining !== undefined || this.stopped) return;
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
      if (this.incoming.size > 0 && this.retryTimer === undefined) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.incoming.size > 0 && !this.stopped) {
      const batch = [...this.incoming.values()];
      this.incoming = new Map();
      const failed: IncidentCandidate[] = [];
      for (let i = 0; i < batch.length; i += HANDLE_CONCURRENCY) {
        await Promise.all(batch.slice(i, i + HANDLE_CONCURRENCY).map(async (c) => {
          try {
            await this.handle(c);
          } catch (error) {
            this.options.onError?.(error, 'alert table');
            failed.push(c);
          }
        }));
      }
      if (failed.length > 0) {
        // The table is unreachable: keep the candidates (merged per fingerprint) and try again shortly.
        for (const c of failed) this.enqueue(c);
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.kick();
        }, STORE_RETRY_MS);
        this.retryTimer.unref();
        return;
      }
    }
  }

  private async handle(c: IncidentCandidate): Promise<void> {
    const now = this.clock();
    if (silenceFor(this.settings.silences, c, now) !== undefined) {
      this.events.emit('alert.suppressed', { reason: 'silenced', count: c.count, fingerprint: c.fingerprint });
      return;
    }
    const rule = ruleFor(this.settings.rules, c);
    if (rule === undefined || !rule.alert) {
      this.events.emit('alert.suppressed', { reason: rule === undefined ? 'no_rule' : 'silenced', count: c.count, fingerprint: c.fingerprint });
      return;
    }
    const local = this.windows.get(c.fingerprint);
    if (local !== undefined && now < local.ref.closesAtMs) {
      this.count(local, c);
      this.events.emit('alert.suppressed', { reason: 'window', count: c.count, fingerprint: c.fingerprint });
      return;
    }
    if (rule.threshold !== undefined) {
      const t = rule.threshold;
      const thresholdKey = t.per === 'service' ? `${rule.id}#service#${c.service}` : `${rule.id}#${c.fingerprint}`;
      const total = await this.store.countThreshold(thresholdKey, now, t.withinMs, c.count);
      if (total <= t.count) {
        this.events.emit('alert.suppressed', { reason: 'below_threshold', count: c.count, fingerprint: c.fingerprint });
        return;
      }
    }
    const snapshot = snapshotOf(c, rule, this.settings.redactor, this.settings.environment);
    const occurrences: Occurrences = { count: c.count, pods: c.pods, firstSeenMs: c.firstSeenMs, lastSeenMs: c.lastSeenMs };
    const claim = await this.store.claimWindow({ fingerprint: c.fingerprint, ruleId: rule.id, nowMs: now, windowMs: rule.windowMs, owner: this.options.owner, snapshot, occurrences });
    const window: LocalWindow = {
      ref: claim.ref, owned: claim.claimed, service: c.service, snapshot, seen: 0,
      pending: 0, pendingPods: new Set(), pendingFirstMs: Number.POSITIVE_INFINITY, pendingLastMs: Number.NEGATIVE_INFINITY,
    };
    if (claim.claimed) window.seen = c.count;
    else this.count(window, c);
    this.windows.set(c.fingerprint, window, { ttl: Math.max(1, claim.ref.closesAtMs - now + this.settings.throttle.closeGraceMs) });
    this.events.emit('window.opened', { fingerprint: c.fingerprint, ruleId: claim.ref.ruleId, claimed: claim.claimed });
    if (!claim.claimed) {
      this.events.emit('alert.suppressed', { reason: 'claimed_elsewhere', count: c.count, fingerprint: c.fingerprint });
      return;
    }
    const facts: WindowFacts = { count: c.count, total: c.count, pods: c.pods, firstSeenMs: c.firstSeenMs, lastSeenMs: c.lastSeenMs, openedAtMs: claim.ref.openedAtMs, closesAtMs: claim.ref.closesAtMs };
    this.track(this.sendAlert(claim.ref, snapshot, facts, c));
  }

  private count(window: LocalWindow, c: IncidentCandidate): void {
    window.seen += c.count;
    window.pending += c.count;
    for (const pod of c.pods) if (window.pendingPods.size < 100) window.pendingPods.add(pod);
    if (c.firstSeenMs < window.pendingFirstMs) window.pendingFirstMs = c.firstSeenMs;
    if (c.lastSeenMs > window.pendingLastMs) window.pendingLastMs = c.lastSeenMs;
  }

  private track(work: Promise<unknown>): void {
    const p = work.catch((error: unknown) => this.options.onError?.(error, 'alert delivery')).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  private queueFor(route: string | undefined): DeliveryQueue {
    const destination = this.options.destinationFor(route);
    let queue = this.queues.get(destination.name);
    if (queue === undefined) {
      queue = new DeliveryQueue(destination, this.settings.delivery, this.events);
      this.queues.set(destination.name, queue);
    }
    return queue;
  }

  /** Waits for the analysis at most the budget; a late one is returned as a promise to post afterwards. */
  private async analyze(c: IncidentCandidate): Promise<{ analysis?: IncidentAnalysis; late?: Promise<IncidentAnalysis | undefined> }> {
    const analyzer = this.options.analyzer;
    if (analyzer === undefined) return {};
    const controller = new AbortController();
    this.analyses.add(controller);
    const result = analyzer.analyze(c, controller.signal)
      .catch(() => undefined)
      .finally(() => this.analyses.delete(controller));
    const timeout = Symbol('timeout');
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([result, new Promise<typeof timeout>((resolve) => { timer = setTimeout(() => resolve(timeout), this.settings.analysisBudgetMs); })]);
    clearTimeout(timer);
    if (outcome === timeout) return { late: result };
    return outcome === undefined ? {} : { analysis: outcome };
  }

  private async sendAlert(ref: WindowRef, snapshot: AlertSnapshot, facts: WindowFacts, candidate: IncidentCandidate | undefined): Promise<void> {
    const id = key(ref);
    this.sending.add(id);
    try {
      const { analysis, late } = candidate === undefined ? {} : await this.analyze(candidate);
      const queue = this.queueFor(snapshot.route);
      const outcome = await queue.send(renderAlert(snapshot, facts, this.settings.redactor, { analysis, analysisPending: late !== undefined }));
      if (outcome.status !== 'sent') return;
      await this.withRetry(() => this.store.markSent(ref, facts.count, outcome.ref, this.clock()));
      this.logIncident(ref, snapshot, facts, analysis);
      if (late !== undefined) this.track(this.postLateAnalysis(queue, snapshot, late, outcome.ref, ref));
    } finally {
      this.sending.delete(id);
    }
  }

  /** The sent alert, and its analysis when it came in time, into the incident log (failures go to onError). */
  private logIncident(ref: WindowRef, snapshot: AlertSnapshot, facts: WindowFacts, analysis: IncidentAnalysis | undefined): void {
    const log = this.options.incidentLog;
    if (log === undefined) return;
    this.track(log.recordIncident({
      fingerprint: snapshot.fingerprint, windowOpenedAtMs: ref.openedAtMs, service: snapshot.service, ruleId: snapshot.ruleId,
      severity: snapshot.severity, kind: snapshot.kind, levelClass: snapshot.level, template: snapshot.template, message: snapshot.message,
      exception: snapshot.exception, count: facts.total, firstSeenMs: facts.firstSeenMs, lastSeenMs: facts.lastSeenMs, pods: facts.pods,
    }).then(() => (analysis === undefined ? undefined : log.recordAnalysis(snapshot.fingerprint, ref.openedAtMs, analysis))));
  }

  private async postLateAnalysis(queue: DeliveryQueue, snapshot: AlertSnapshot, late: Promise<IncidentAnalysis | undefined>, ref: MessageRef | undefined, window: WindowRef): Promise<void> {
    const analysis = await late;
    if (analysis === undefined || this.stopped) return;
    if (this.options.incidentLog !== undefined) this.track(this.options.incidentLog.recordAnalysis(snapshot.fingerprint, window.openedAtMs, analysis));
    const threaded = queue.destination.threads && ref !== undefined;
    await queue.send({ ...renderAnalysis(snapshot, analysis, this.settings.redactor, !threaded), threadOf: threaded ? ref : undefined });
  }

  /** A few quick attempts for a table write whose loss would only cause a duplicate. */
  private async withRetry<T>(write: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await write();
      } catch (error) {
        if (attempt >= 3) throw error;
        await sleep(200 * attempt);
      }
    }
  }

  /** Adds the locally counted repeats to the table. */
  flush(): Promise<void> {
    this.flushing ??= this.flushNow().finally(() => { this.flushing = undefined; });
    return this.flushing;
  }

  private async flushNow(): Promise<void> {
    const due: LocalWindow[] = this.orphans.splice(0);
    for (const window of this.windows.values()) if (window.pending > 0) due.push(window);
    await Promise.all(due.map(async (window) => {
      const occurrences: Occurrences = { count: window.pending, pods: [...window.pendingPods], firstSeenMs: window.pendingFirstMs, lastSeenMs: window.pendingLastMs };
      window.pending = 0;
      window.pendingPods = new Set();
      window.pendingFirstMs = Number.POSITIVE_INFINITY;
      window.pendingLastMs = Number.NEGATIVE_INFINITY;
      let written: WindowRecord | undefined;
      try {
        written = await this.store.writeWindow(window.ref, occurrences, window.snapshot);
      } catch (error) {
        this.options.onError?.(error, 'alert table');
        // Put the counts back; an evicted window goes back to the orphans.
        window.pending += occurrences.count;
        for (const pod of occurrences.pods) window.pendingPods.add(pod);
        window.pendingFirstMs = Math.min(window.pendingFirstMs, occurrences.firstSeenMs);
        window.pendingLastMs = Math.max(window.pendingLastMs, occurrences.lastSeenMs);
        if (this.windows.get(window.ref.fingerprint) !== window && !this.orphans.includes(window)) this.orphans.push(window);
        return;
      }
      if (written?.closeState === 'closed' && written.reportedCount !== undefined && written.count > written.reportedCount) await this.reopenClose(written.ref);
    }));
  }

  /** These occurrences reached the table after the window's digest: report them in one of their own (or a sweep will). */
  private async reopenClose(ref: WindowRef): Promise<void> {
    try {
      const closing = await this.store.reopenClose(ref, this.options.owner, this.clock());
      if (closing !== undefined) this.track(this.close(closing));
    } catch (error) {
      this.options.onError?.(error, 'alert table');
    }
  }

  /** Takes over unsent alerts and closes ended windows, of any replica. */
  sweep(): Promise<void> {
    this.sweeping ??= this.sweepNow().catch((error: unknown) => this.options.onError?.(error, 'alert table')).finally(() => { this.sweeping = undefined; });
    return this.sweeping;
  }

  private async sweepNow(): Promise<void> {
    if (this.stopped) return;
    const { claimTimeoutMs, closeGraceMs } = this.settings.throttle;
    for (const record of await this.store.openWindows()) {
      if (this.stopped) return;
      const now = this.clock();
      const staleBefore = now - claimTimeoutMs;
      if (record.state !== 'sent') {
        if (this.sending.has(key(record.ref))) continue;
        const stale = record.state === undefined ? record.ref.openedAtMs < staleBefore : (record.claimedAtMs ?? 0) < staleBefore;
        if (!stale) continue;
        const taken = await this.store.takeOver(record.ref, this.options.owner, now, staleBefore);
        if (taken === undefined) continue;
        if (taken.snapshot === undefined) {
          await this.store.markSent(taken.ref, taken.count, undefined, now);
          continue;
        }
        this.track(this.sendAlert(taken.ref, taken.snapshot, this.factsOf(taken, taken.count), undefined));
      } else if (record.closeState !== 'closed' && record.ref.closesAtMs + closeGraceMs < now) {
        const closing = await this.store.beginClose(record.ref, this.options.owner, now, now - closeGraceMs, staleBefore);
        if (closing !== undefined) this.track(this.close(closing));
      } else if (record.ref.closesAtMs > now) {
        this.updateLiveCount(record, now);
      }
    }
  }

  /** The sender's root message shows the window's count so far (bot token: chat.update), not more often than the update interval. */
  private updateLiveCount(record: WindowRecord, now: number): void {
    const { messageRef, snapshot, alertedCount } = record;
    if (record.owner !== this.options.owner || messageRef === undefined || snapshot === undefined || alertedCount === undefined) return;
    const id = key(record.ref);
    // The first update waits an interval after the alert itself (claimed just before it was sent).
    const last = this.updated.get(id) ?? { atMs: record.claimedAtMs ?? record.ref.openedAtMs, total: alertedCount };
    if (record.count <= last.total || now - last.atMs < this.settings.throttle.updateIntervalMs) return;
    const queue = this.queueFor(snapshot.route);
    if (!queue.destination.threads) return;
    this.updated.set(id, { atMs: now, total: record.count });
    this.track(queue.send({ ...renderAlert(snapshot, this.factsOf(record, alertedCount), this.settings.redactor), replaces: messageRef }));
  }

  private factsOf(record: WindowRecord, count: number): WindowFacts {
    return {
      count, total: record.count, pods: record.pods, firstSeenMs: record.firstSeenMs, lastSeenMs: record.lastSeenMs,
      openedAtMs: record.ref.openedAtMs, closesAtMs: record.ref.closesAtMs,
    };
  }

  /**
   * Digests what the window holds beyond what was reported, until the close
   * finds no more (another replica's flush can land while a digest is out).
   * A digest that cannot be queued leaves the close to a later sweep.
   */
  private async close(claimed: WindowRecord): Promise<void> {
    let record = claimed;
    for (;;) {
      const alerted = record.alertedCount ?? record.count;
      const repeats = record.count - (record.reportedCount ?? alerted);
      const snapshot = record.snapshot;
      if (repeats > 0 && snapshot !== undefined) {
        const queue = this.queueFor(snapshot.route);
        const redactor = this.settings.redactor;
        const threaded = queue.destination.threads && record.messageRef !== undefined;
        const digest = await queue.send({ ...renderDigest(snapshot, this.factsOf(record, repeats), redactor, !threaded), threadOf: threaded ? record.messageRef : undefined });
        if (digest.status === 'dropped' && (digest.reason === 'queue_full' || digest.reason === 'shutdown')) return;
        if (threaded) {
          await queue.send({ ...renderAlert(snapshot, this.factsOf(record, alerted), redactor, { closed: true }), replaces: record.messageRef });
        }
      }
      const reported = record.count;
      const now = this.clock();
      const outcome = await this.withRetry(() => this.store.finishClose(record, reported, now));
      if (outcome.state === 'fenced') return;
      if (outcome.state === 'closed') break;
      record = outcome.record;
    }
    this.updated.delete(key(record.ref));
    const log = this.options.incidentLog;
    if (log !== undefined && record.snapshot !== undefined) {
      this.track(log.recordCount(record.ref.fingerprint, record.ref.openedAtMs, { count: record.count, lastSeenMs: record.lastSeenMs, pods: record.pods }));
    }
    this.events.emit('window.closed', { fingerprint: record.ref.fingerprint, ruleId: record.ref.ruleId, count: record.count });
  }

  openWindows(): number {
    const now = this.clock();
    let open = 0;
    for (const window of this.windows.values()) if (window.ref.closesAtMs > now) open++;
    return open;
  }

  queueDepth(): number {
    let depth = this.incoming.size;
    for (const queue of this.queues.values()) depth += queue.depth;
    return depth;
  }

  topWindows(limit: number): readonly OpenWindowSummary[] {
    const now = this.clock();
    return [...this.windows.values()]
      .filter((w) => w.ref.closesAtMs > now)
      .sort((a, b) => b.seen - a.seen)
      .slice(0, limit)
      .map((w) => ({ fingerprint: w.ref.fingerprint, service: w.service, ruleId: w.ref.ruleId, count: w.seen, openedAtMs: w.ref.openedAtMs, closesAtMs: w.ref.closesAtMs }));
  }

  /**
   * Graceful stop within `timeoutMs`: what arrived is decided, counts are
   * flushed, queued messages are sent while time remains. Whatever is left
   * stays claimed-unsent (or closing) in the table, for another replica.
   */
  async stop(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    const remaining = (): number => Math.max(0, deadline - performance.now());
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    await Promise.race([this.draining, sleep(remaining())]);
    this.stopped = true;
    await Promise.race([Promise.allSettled([...this.inFlight]), sleep(remaining())]);
    for (const controller of this.analyses) controller.abort();
    await Promise.race([this.flush(), sleep(remaining())]);
    await Promise.all([...this.queues.values()].map((queue) => queue.close(performance.now() + remaining())));
    await Promise.race([Promise.allSettled([...this.inFlight, this.sweeping]), sleep(remaining())]);
  }
}
