/**
 * Alerting against a real alert table (dynalite on loopback) and a Slack
 * stand-in on loopback that records requests: rules and their errors, one
 * alert per window across replicas with digests that add up, Slack's limits
 * with huge traces, redaction, 429/5xx/4xx/slow answers, the bot's thread and
 * update flow, takeover of an alert whose sender died, fault injection on the
 * table, the RAG seam and shutdown.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDbClient } from '../src/aws.js';
import { loadAlertingEnv } from '../src/config/alerting-config.js';
import { injectDynamoDbFaults } from '../src/lease/faulty-lease-store.js';
import { startDynamoDbEmulator, type DynamoDbEmulator } from '../src/local/dynamodb.js';
import { snapshotOf } from '../src/pipeline/alerting/alert.js';
import { AlertStore, createAlertTableIfMissing, type WindowRecord } from '../src/pipeline/alerting/alert-store.js';
import { compileAlertingConfig, loadAlertingConfig, type AlertingConfigInput } from '../src/pipeline/alerting/config.js';
import { destinationsFor } from '../src/pipeline/alerting/create.js';
import type { Destination } from '../src/pipeline/alerting/delivery.js';
import { AlertingEngine, type IncidentLog } from '../src/pipeline/alerting/engine.js';
import { AlertEventBus, type AlertEvents } from '../src/pipeline/alerting/events.js';
import { injectAlertTableFaults } from '../src/pipeline/alerting/faulty-alert-table.js';
import { renderAlert, SLACK_LIMITS } from '../src/pipeline/alerting/message.js';
import { ruleFor, silenceFor } from '../src/pipeline/alerting/rules.js';
import type { IncidentAnalysis, IncidentAnalyzer } from '../src/pipeline/rag/analysis.js';
import type { IncidentCandidate } from '../src/workers/protocol.js';
import { allText, SlackStandIn } from '../src/local/slack-stand-in.js';

const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
let dynamo: DynamoDbEmulator;
let client: DynamoDBClient;
let slack: SlackStandIn;
let tables = 0;
const engines: AlertingEngine[] = [];
const dir = mkdtempSync(join(tmpdir(), 'cali-alerting-'));

beforeAll(async () => {
  dynamo = await startDynamoDbEmulator();
  client = createDynamoDbClient({ region: 'us-east-1', endpoint: dynamo.endpoint, credentials: CREDENTIALS });
  slack = new SlackStandIn();
  await slack.start();
});

afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.stop(200)));
  slack.requests.length = 0;
  slack.script.length = 0;
});

afterAll(async () => {
  client?.destroy();
  await dynamo?.stop();
  await slack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

let fpCounter = 0;
function candidate(overrides: Partial<IncidentCandidate> = {}): IncidentCandidate {
  const now = Date.now();
  return {
    fingerprint: (0xabc0000000000000n + BigInt(++fpCounter)).toString(16).padStart(16, '0'),
    kind: 'stack',
    template: 'Connection pool exhausted after <*> ms',
    service: 'order-service',
    levelClass: 'error',
    count: 1,
    firstSeenMs: now,
    lastSeenMs: now,
    pods: ['order-service-7d9f-abcde'],
    sample: {
      message: 'Connection pool exhausted after 30000 ms',
      exception: 'java.sql.SQLTransientConnectionException',
      sequenceNumber: '1',
      subSequenceNumber: 0,
      frames: ['java.sql.SQLTransientConnectionException', '    at com.acme.order.OrderRepository.save', '    at com.acme.order.OrderService.place'],
    },
    kubernetes: { namespace: 'shop', labels: { team: 'orders', app: 'order-service' }, image: 'acme/order-service:1.4.2' },
    ...overrides,
  };
}

const FAST: AlertingConfigInput = {
  environment: 'test',
  rules: [{ id: 'errors', match: { levels: ['error', 'fatal'] }, windowSeconds: 2 }],
  defaultRules: true,
  delivery: { minIntervalMs: 0, maxAttempts: 4, timeoutMs: 1000 },
  throttle: { flushIntervalMs: 100, closeGraceMs: 400, claimTimeoutMs: 1500, sweepIntervalMs: 150 },
};

async function newTable(): Promise<string> {
  const name = `alerts-${++tables}`;
  await createAlertTableIfMissing(client, name);
  return name;
}

interface EngineSetup {
  table: string;
  owner?: string;
  config?: AlertingConfigInput;
  output?: 'webhook' | 'bot';
  analyzer?: IncidentAnalyzer;
  incidentLog?: IncidentLog;
  destination?: Destination;
  dynamoDb?: DynamoDBClient;
  store?: AlertStore;
}

function engine(setup: EngineSetup): { engine: AlertingEngine; events: AlertEventBus; log: { [K in keyof AlertEvents]?: AlertEvents[K][0][] } } {
  const settings = compileAlertingConfig(setup.config ?? FAST);
  const env = setup.output === 'bot'
    ? loadAlertingEnv({ SLACK_BOT_TOKEN: 'xoxb-1234567890-abcdefghij', SLACK_CHANNEL: '#alerts', SLACK_API_URL: slack.apiUrl }, 'cali')
    : loadAlertingEnv({ SLACK_WEBHOOK_URL: slack.webhookUrl }, 'cali');
  const events = new AlertEventBus();
  const log: { [K in keyof AlertEvents]?: AlertEvents[K][0][] } = {};
  for (const name of ['alert.sent', 'alert.failed', 'alert.dropped', 'alert.suppressed', 'window.opened', 'window.closed'] as const) {
    (events as unknown as { on(name: string, listener: (payload: unknown) => void): void }).on(name, (payload) => { ((log[name] ??= []) as unknown[]).push(payload); });
  }
  const route = setup.destination === undefined ? destinationsFor(env, settings, () => undefined) : () => setup.destination!;
  const e = new AlertingEngine({
    settings, store: setup.store ?? new AlertStore(setup.dynamoDb ?? client, setup.table), destinationFor: route,
    owner: setup.owner ?? 'replica-1', events, analyzer: setup.analyzer, incidentLog: setup.incidentLog,
    onError: (error, context) => { if (process.env.ALERT_TEST_DEBUG) console.error(context, error); },
  });
  e.start();
  engines.push(e);
  return { engine: e, events, log };
}

async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Every window of the fingerprint, once all are closed (digests sent). */
async function closedWindows(table: string, fp: string, total: number, timeoutMs = 20_000): Promise<WindowRecord[]> {
  const store = new AlertStore(client, table);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const all = await store.windowsOf(fp);
    if (all.length > 0 && all.every((w) => w.closeState === 'closed') && all.reduce((n, w) => n + w.count, 0) >= total) return all;
    if (Date.now() > deadline) throw new Error(`windows of ${fp} not closed: ${JSON.stringify(all.map((w) => [w.state, w.closeState, w.count]))}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const textOf = (body: Record<string, unknown>): string => String(body.text ?? '');
/** Occurrences a message reports: "(x3, fingerprint" in an alert, "x5 more" in a digest. */
function reported(body: Record<string, unknown>): { kind: 'alert' | 'digest' | 'other'; count: number } {
  const text = textOf(body);
  const digest = /x(\d+) more in the last/.exec(text);
  if (text.startsWith('Digest') && digest) return { kind: 'digest', count: Number(digest[1]) };
  const alert = /\(x(\d+), fingerprint/.exec(text);
  if (alert) return { kind: 'alert', count: Number(alert[1]) };
  return { kind: 'other', count: 0 };
}

describe('rules file', () => {
  it('has the default rules: ERROR and FATAL alert, WARN only above a rate', () => {
    const s = compileAlertingConfig({});
    expect(ruleFor(s.rules, candidate({ levelClass: 'error' }))?.id).toBe('error');
    expect(ruleFor(s.rules, candidate({ levelClass: 'fatal' }))?.id).toBe('fatal');
    const warn = ruleFor(s.rules, candidate({ levelClass: 'warn' }));
    expect(warn?.threshold).toEqual({ count: 20, withinMs: 60_000, per: 'fingerprint' });
    expect(ruleFor(s.rules, candidate({ levelClass: 'info' }))).toBeUndefined();
  });

  it('matches on service, message regex, fingerprint, namespace and labels; first match wins; silences end', async () => {
    const path = join(dir, 'rules.yaml');
    writeFileSync(path, `
alerting:
  environment: prod
  rules:
    - id: payments
      match: { services: [payment-service], message: "timeout|timed out" }
      severity: critical
      route: "#payments"
    - id: orders-team
      match: { labels: { team: orders }, namespaces: [shop] }
      windowSeconds: 60
    - id: mute-noisy
      match: { fingerprints: [0123456789abcdef] }
      alert: false
  silences:
    - { service: search-service, until: "2999-01-01T00:00:00Z", reason: reindexing }
    - { fingerprint: fedcba9876543210, until: "2001-01-01T00:00:00Z" }
other-section: { owned: by someone else }
`);
    const s = await loadAlertingConfig(path);
    expect(s.environment).toBe('prod');
    const pay = ruleFor(s.rules, candidate({ service: 'payment-service', sample: { ...candidate().sample, message: 'Gateway timed out' } }));
    expect(pay?.id).toBe('payments');
    expect(pay?.route).toBe('#payments');
    expect(ruleFor(s.rules, candidate({ service: 'payment-service', template: 'x', sample: { ...candidate().sample, message: 'card declined' }, kubernetes: undefined }))?.id).toBe('error');
    expect(ruleFor(s.rules, candidate())?.id).toBe('orders-team');
    expect(ruleFor(s.rules, candidate({ fingerprint: '0123456789abcdef', kubernetes: undefined }))?.alert).toBe(false);
    expect(silenceFor(s.silences, candidate({ service: 'search-service' }), Date.now())?.reason).toBe('reindexing');
    expect(silenceFor(s.silences, candidate({ fingerprint: 'fedcba9876543210' }), Date.now())).toBeUndefined();
  });

  it('names the setting and the fix in every error', () => {
    const error = (input: unknown): string => {
      try {
        compileAlertingConfig(input, 'rules.yaml');
      } catch (e) {
        expect((e as { code?: string }).code).toBe('CALI_ERR_CONFIG');
        return (e as Error).message;
      }
      throw new Error('no error');
    };
    expect(error({ rule: [] })).toMatch(/alerting\.rule is not a known setting: remove it/);
    expect(error({ rules: [{ id: 'a', match: { levels: ['warning'] } }] })).toMatch(/alerting\.rules\[0\]\.match\.levels\[0\] is invalid .*"debug", "info", "warn", "error", "fatal"/);
    expect(error({ rules: [{ id: 'a', match: { message: '(a+)+$' } }] })).toMatch(/alerting\.rules\[0\]\.match\.message may backtrack catastrophically .* rewrite it/);
    expect(error({ rules: [{ id: 'a', threshold: { count: 0, withinSeconds: 60 } }] })).toMatch(/threshold\.count is invalid \(got 0\): use a whole number >= 1/);
    expect(error({ rules: [{ id: 'a' }, { id: 'a' }] })).toMatch(/rules\[1\]\.id repeats "a": give every rule its own id/);
    expect(error({ silences: [{ until: '2030-01-01T00:00:00Z' }] })).toMatch(/silences\[0\] names neither a fingerprint nor a service/);
    expect(error({ redaction: { patterns: [{ name: 'x', pattern: '(\\d+)+' }] } })).toMatch(/alerting\.redaction\.patterns\[0\]\.pattern may backtrack/);
  });

  it('checks the Slack environment without echoing secrets', () => {
    const message = (env: Record<string, string>): string => {
      try {
        loadAlertingEnv(env, 'cali');
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    };
    expect(message({ SLACK_WEBHOOK_URL: 'http://hooks.example.com/services/SECRETPATH' })).toMatch(/^SLACK_WEBHOOK_URL must be an https URL/);
    expect(message({ SLACK_WEBHOOK_URL: 'http://hooks.example.com/services/SECRETPATH' })).not.toContain('SECRETPATH');
    expect(message({ SLACK_BOT_TOKEN: 'xoxb-1234567890-secretsecret' })).toMatch(/^SLACK_CHANNEL is not set/);
    expect(message({ SLACK_BOT_TOKEN: 'not-a-token-secretsecret', SLACK_CHANNEL: '#a' })).not.toContain('secretsecret');
    expect(loadAlertingEnv({}, 'cali').output).toEqual({ type: 'console', file: undefined });
    expect(loadAlertingEnv({}, 'cali').tableName).toBe('cali-alerts');
  });
});

describe('Block Kit messages', () => {
  it('stays within Slack limits with a huge trace and message, and truncates frames by whole lines', () => {
    const settings = compileAlertingConfig({});
    const huge = candidate({
      template: 'T'.repeat(20_000),
      service: 's'.repeat(128),
      sample: {
        message: Array.from({ length: 400 }, (_, i) => `line ${i} ${'x'.repeat(300)}`).join('\n'),
        exception: `com.acme.${'Very'.repeat(100)}Exception`,
        sequenceNumber: '1', subSequenceNumber: 0,
        frames: Array.from({ length: 40 }, (_, i) => `    at com.acme.deep.Frame${i}.${'m'.repeat(250)}`),
      },
    });
    const snapshot = snapshotOf(huge, settings.rules[0]!, settings.redactor, 'prod');
    const m = renderAlert(snapshot, { count: 5, total: 5, pods: Array.from({ length: 10 }, (_, i) => `pod-${i}`), firstSeenMs: 0, lastSeenMs: 1, openedAtMs: 0, closesAtMs: 1 }, settings.redactor, {
      analysis: {
        analyzer: 'llm', likelyCause: 'c'.repeat(10_000), remediation: Array.from({ length: 30 }, () => 'r'.repeat(500)), confidence: 'low',
        similarIncidents: Array.from({ length: 30 }, (_, i) => ({ fingerprint: `${i}`.padStart(16, '0'), service: 's', template: 't'.repeat(5000), seenAtMs: 0, similarity: 0.9, resolution: 'z'.repeat(5000) })),
        runbooks: Array.from({ length: 30 }, () => ({ source: 'r.md', heading: 'h'.repeat(500), text: 'p'.repeat(10_000), similarity: 0.5 })),
      },
    });
    expect(m.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
    expect(m.text.length).toBeLessThanOrEqual(SLACK_LIMITS.fallbackText);
    for (const block of m.blocks) {
      if (block.type === 'header') expect(block.text.text.length).toBeLessThanOrEqual(150);
      if (block.type === 'section') {
        if (block.text) expect(block.text.text.length).toBeLessThanOrEqual(3000);
        for (const f of block.fields ?? []) expect(f.text.length).toBeLessThanOrEqual(2000);
        expect((block.fields ?? []).length).toBeLessThanOrEqual(10);
      }
    }
    const json = JSON.stringify(m.blocks);
    expect(json.length).toBeLessThan(20_000);
    const frames = m.blocks.find((b) => b.type === 'section' && b.text?.text.startsWith('*Top frames*'));
    expect(frames?.type === 'section' && frames.text?.text).toMatch(/\.\.\.\d+ more\n```$/);
    // Whole lines only: every frame line shown is complete or clipped at 400 characters, never cut at the budget.
    expect(json).toContain('generated by an LLM');
  });
});

describe('delivery to the Slack stand-in', () => {
  it('redacts emails, tokens, URL passwords, key=value secrets, JWTs and card numbers before sending', async () => {
    const table = await newTable();
    const { engine: e } = engine({ table, config: { ...FAST, redaction: { patterns: [{ name: 'order', pattern: 'ORD-[0-9]+' }] } } });
    const secretMessage = 'login failed for jane.doe@example.com password=hunter2 token xoxb-123456789012-abcdefabcdef jdbc:postgresql://admin:s3cret@db:5432/x '
      + 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U card 4111 1111 1111 1111 order ORD-99812';
    e.publish('s', [candidate({ sample: { ...candidate().sample, message: secretMessage }, template: secretMessage })]);
    const request = await until('the alert', () => slack.delivered[0]);
    for (const secret of ['jane.doe@example.com', 'hunter2', 'xoxb-123456789012', 's3cret', 'eyJhbGciOiJIUzI1NiJ9', '4111 1111 1111 1111', 'ORD-99812']) {
      expect(request.raw).not.toContain(secret);
    }
    expect(request.raw).toContain('[REDACTED:email]');
    expect(request.raw).toContain('[REDACTED:order]');
  });

  it('honours Retry-After on 429, retries 500 and slow answers, never retries 400 invalid_payload, and logs codes only', async () => {
    const table = await newTable();
    const { engine: e, log } = engine({ table });
    slack.script.push({ status: 429, retryAfterSeconds: 1 }, { status: 500, error: 'rollup_error' }, { status: 200, delayMs: 1500 });
    e.publish('s', [candidate()]);
    await until('the alert delivered', () => log['alert.sent']?.length === 1);
    const [first, second, third, fourth] = slack.requests;
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(900);
    expect(third!.at).toBeGreaterThan(second!.at);
    expect(fourth?.status).toBe(200);
    expect(log['alert.failed']?.map((f) => f.error).slice(0, 2)).toEqual(['rate_limited', 'rollup_error']);
    expect(log['alert.failed']?.[2]?.retriable).toBe(true);

    slack.script.push({ status: 400, error: 'invalid_payload' });
    e.publish('s', [candidate()]);
    await until('the drop', () => log['alert.dropped']?.length === 1);
    expect(log['alert.dropped']![0]).toMatchObject({ reason: 'payload_invalid', destination: 'slack-webhook' });
    expect(log['alert.failed']!.at(-1)).toEqual({ destination: 'slack-webhook', kind: 'alert', error: 'invalid_payload', retriable: false });
    await new Promise((r) => setTimeout(r, 300));
    expect(slack.requests.filter((r) => r.status === 400)).toHaveLength(1);
    expect(JSON.stringify(log)).not.toContain('secretwebhookpath');
  });

  it('paces messages to one destination (minIntervalMs) and bounds its queue', async () => {
    const table = await newTable();
    const { engine: e, log } = engine({ table, config: { ...FAST, delivery: { minIntervalMs: 300, queueSize: 2, timeoutMs: 1000 } } });
    e.publish('s', [candidate(), candidate(), candidate(), candidate(), candidate()]);
    await until('two delivered and the rest dropped', () => slack.delivered.length >= 2 && (log['alert.dropped']?.length ?? 0) >= 1);
    const times = slack.delivered.map((r) => r.at);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(250);
    expect(log['alert.dropped']!.every((d) => d.reason === 'queue_full')).toBe(true);
  });
});

describe('throttle windows across replicas', () => {
  it('sends one alert per window for a fingerprint seen by three replicas, and digests that add up to every occurrence', async () => {
    const table = await newTable();
    const replicas = ['r1', 'r2', 'r3'].map((owner) => engine({ table, owner }));
    const fp = candidate().fingerprint;
    let total = 0;
    const rounds = 12;
    for (let round = 0; round < rounds; round++) {
      for (const [i, r] of replicas.entries()) {
        const count = 1 + ((round + i) % 4);
        total += count;
        r.engine.publish(`shard-${i}`, [candidate({ fingerprint: fp, count, pods: [`pod-${i}`] })]);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    const windows = await closedWindows(table, fp, total);
    expect(windows.length).toBeGreaterThanOrEqual(2);
    const mine = slack.delivered.filter((r) => textOf(r.body).includes(fp)).map((r) => reported(r.body));
    const alerts = mine.filter((m) => m.kind === 'alert');
    const digests = mine.filter((m) => m.kind === 'digest');
    expect(alerts).toHaveLength(windows.length);
    expect(windows.reduce((n, w) => n + w.count, 0)).toBe(total);
    expect(alerts.reduce((n, m) => n + m.count, 0) + digests.reduce((n, m) => n + m.count, 0)).toBe(total);
    const opened = replicas.flatMap((r) => r.log['window.opened'] ?? []).filter((o) => o.fingerprint === fp && o.claimed);
    expect(opened).toHaveLength(windows.length);
  }, 30_000);

  it('keeps one alert per window and every count with throttling and injected conditional-check failures on the table', async () => {
    const table = await newTable();
    const faulty = createDynamoDbClient({ region: 'us-east-1', endpoint: dynamo.endpoint, credentials: CREDENTIALS });
    const throttles = injectDynamoDbFaults(faulty, { seed: 7, throttleRate: 0.2 });
    const conditions = injectAlertTableFaults(faulty, { seed: 3, conditionFailureRate: 0.4, ambiguousRate: 0.3 });
    // A close (or claim) still running after claimTimeoutMs is taken over, and its digest can then repeat
    // (at-least-once; docs/alerting.md). A throttled write retried by the SDK and the engine can take
    // seconds on a busy machine, so the claim timeout here is above that: this test is about faults
    // that a live replica survives, not about taking over a slow one (the takeover tests are).
    const config: AlertingConfigInput = { ...FAST, throttle: { ...FAST.throttle, claimTimeoutMs: 5_000 } };
    try {
      const replicas = [engine({ table, owner: 'f1', dynamoDb: faulty, config }), engine({ table, owner: 'f2', config }), engine({ table, owner: 'f3', dynamoDb: faulty, config })];
      const fp = candidate().fingerprint;
      let total = 0;
      for (let round = 0; round < 6; round++) {
        for (const r of replicas) {
          total += 2;
          r.engine.publish('s', [candidate({ fingerprint: fp, count: 2 })]);
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      const windows = await closedWindows(table, fp, total);
      expect(windows.reduce((n, w) => n + w.count, 0)).toBe(total);
      const mine = slack.delivered.filter((r) => textOf(r.body).includes(fp)).map((r) => reported(r.body));
      expect(mine.filter((m) => m.kind === 'alert')).toHaveLength(windows.length);
      expect(mine.reduce((n, m) => n + m.count, 0)).toBe(total);
      expect(throttles.throttles).toBeGreaterThan(0);
      expect(conditions.injected).toBeGreaterThan(0);
      console.log(`injected: ${throttles.throttles} throttles of ${throttles.attempts} attempts, ${conditions.injected} claim condition failures`);
    } finally {
      faulty.destroy();
    }
  }, 40_000);

  it('digests a flush that lands while the digest is out, and one that lands after the close', async () => {
    const table = await newTable();
    const fp = candidate().fingerprint;
    const outside = new AlertStore(client, table);
    let releaseLateFlush!: () => void;
    const windowClosed = new Promise<void>((resolve) => { releaseLateFlush = resolve; });
    // A's first close finds 3 more occurrences that another replica flushed after A read the window.
    class FlushDuringClose extends AlertStore {
      private injected = false;
      override async finishClose(record: WindowRecord, reportedCount: number, nowMs: number): ReturnType<AlertStore['finishClose']> {
        if (!this.injected) {
          this.injected = true;
          await outside.writeWindow(record.ref, { count: 3, pods: ['late-pod'], firstSeenMs: Date.now(), lastSeenMs: Date.now() }, undefined);
        }
        return super.finishClose(record, reportedCount, nowMs);
      }
    }
    // B's count of 4 reaches the table only once A has closed the window.
    class FlushAfterClose extends AlertStore {
      override async writeWindow(...args: Parameters<AlertStore['writeWindow']>): ReturnType<AlertStore['writeWindow']> {
        if (args[3] === undefined) await windowClosed;
        return super.writeWindow(...args);
      }
    }
    const a = engine({ table, owner: 'closer', store: new FlushDuringClose(client, table) });
    a.events.on('window.closed', () => releaseLateFlush());
    const b = engine({ table, owner: 'late', store: new FlushAfterClose(client, table), config: { ...FAST, throttle: { ...FAST.throttle, sweepIntervalMs: 600_000 } } });
    a.engine.publish('s', [candidate({ fingerprint: fp, count: 1 })]);
    await until('A claimed', () => a.log['window.opened']?.[0]?.claimed === true);
    b.engine.publish('s', [candidate({ fingerprint: fp, count: 4 })]);
    await until('B counted into the window', () => b.log['window.opened']?.[0]?.claimed === false);
    const digests = await until('both late digests', () => {
      const found = slack.delivered.filter((r) => textOf(r.body).includes(fp)).map((r) => reported(r.body)).filter((m) => m.kind === 'digest');
      return found.length >= 2 && found;
    }, 15_000);
    expect(digests.map((d) => d.count)).toEqual([3, 4]);
    const [window] = await closedWindows(table, fp, 8);
    expect(window).toMatchObject({ count: 8, reportedCount: 8, closeState: 'closed' });
    expect(slack.delivered.filter((r) => textOf(r.body).includes(fp)).map((r) => reported(r.body))).toEqual([{ kind: 'alert', count: 1 }, { kind: 'digest', count: 3 }, { kind: 'digest', count: 4 }]);
  }, 20_000);

  it('an alert whose sender died between claim and send is sent by another replica', async () => {
    const table = await newTable();
    // Replica A claims, and its Slack call never returns: then it "dies" (its timers stop, it never marks the alert sent).
    const hang: Destination = { name: 'hang', threads: false, deliver: (_m, signal) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))) };
    const a = engine({ table, owner: 'dies', destination: hang });
    const fp = candidate().fingerprint;
    a.engine.publish('s', [candidate({ fingerprint: fp, count: 3 })]);
    await until('A claimed', () => a.log['window.opened']?.[0]?.claimed === true);
    engines.splice(engines.indexOf(a.engine), 1);
    await a.engine.stop(0);
    const b = engine({ table, owner: 'survivor' });
    b.engine.publish('s', [candidate({ fingerprint: fp, count: 2 })]);
    const alert = await until('the alert from B', () => slack.delivered.find((r) => textOf(r.body).includes(fp)), 15_000);
    expect(reported(alert.body)).toEqual({ kind: 'alert', count: 5 });
    expect(b.log['window.opened']?.[0]?.claimed).toBe(false);
  }, 20_000);
});

describe('bot token', () => {
  it('posts the alert, puts the digest in its thread and updates the root with the count', async () => {
    const table = await newTable();
    const { engine: e } = engine({ table, output: 'bot' });
    const fp = candidate().fingerprint;
    e.publish('s', [candidate({ fingerprint: fp })]);
    await until('root', () => slack.delivered.length === 1);
    for (let i = 0; i < 4; i++) e.publish('s', [candidate({ fingerprint: fp, count: 2, pods: [`pod-${i}`] })]);
    await until('digest and update', () => slack.delivered.length === 3, 10_000);
    const [root, reply, update] = slack.delivered;
    expect(root!.path).toBe('/api/chat.postMessage');
    expect(root!.headers.authorization).toBe('Bearer xoxb-1234567890-abcdefghij');
    expect(root!.body.channel).toBe('#alerts');
    expect(reply!.path).toBe('/api/chat.postMessage');
    expect(reply!.body.thread_ts).toMatch(/^\d+\.000100$/);
    expect(textOf(reply!.body)).toMatch(/x8 more in the last 2 s \(x9 in the window\)/);
    expect(update!.path).toBe('/api/chat.update');
    expect(update!.body.ts).toBe(reply!.body.thread_ts);
    expect(textOf(update!.body)).toContain('(x9, fingerprint');
  }, 20_000);

  it('updates the root with the live count while the window is open, at most every updateIntervalMs', async () => {
    const table = await newTable();
    const config: AlertingConfigInput = { ...FAST, rules: [{ id: 'errors', match: { levels: ['error'] }, windowSeconds: 4 }], throttle: { ...FAST.throttle, updateIntervalMs: 400 } };
    const { engine: e } = engine({ table, output: 'bot', config });
    const fp = candidate().fingerprint;
    e.publish('s', [candidate({ fingerprint: fp })]);
    await until('root', () => slack.delivered.length === 1);
    e.publish('s', [candidate({ fingerprint: fp, count: 4 })]);
    const live = await until('live update', () => slack.delivered.find((r) => r.path === '/api/chat.update'), 5_000);
    expect(live.body.ts).toBe(slack.delivered[0]!.body.ts ?? live.body.ts);
    expect(allText(live.body)).toContain('x5 so far in a 4 s window');
    const updates = (): number => slack.delivered.filter((r) => r.path === '/api/chat.update').length;
    await new Promise((r) => setTimeout(r, 1_000));
    // Nothing new counted: no further update before the window closes.
    expect(updates()).toBe(1);
  }, 15_000);

  it('retries a 429 from the Web API after Retry-After and drops channel_not_found without retrying', async () => {
    const table = await newTable();
    const { engine: e, log } = engine({ table, output: 'bot' });
    slack.script.push({ status: 429, retryAfterSeconds: 1 });
    e.publish('s', [candidate()]);
    await until('sent', () => slack.delivered.length === 1);
    expect(slack.requests[1]!.at - slack.requests[0]!.at).toBeGreaterThanOrEqual(900);
    slack.script.push({ status: 404, error: 'channel_not_found' });
    e.publish('s', [candidate()]);
    await until('dropped', () => log['alert.dropped']?.length === 1);
    expect(log['alert.failed']!.at(-1)).toMatchObject({ error: 'channel_not_found', retriable: false });
    expect(JSON.stringify(log)).not.toContain('xoxb-');
  });
});

describe('RAG analysis seam', () => {
  const analysis = (analyzer: 'retrieval' | 'llm'): IncidentAnalysis => ({
    analyzer,
    similarIncidents: [{ fingerprint: '00000000000000aa', service: 'order-service', template: 'Pool exhausted', seenAtMs: 0, similarity: 0.93, resolution: 'raised maxPoolSize to 50' }],
    runbooks: [{ source: 'runbooks/db.md', heading: 'Connection pool exhausted', text: 'Check long transactions first.', similarity: 0.8 }],
    ...(analyzer === 'llm' ? { likelyCause: 'a slow query holds connections', remediation: ['kill the long transaction'], confidence: 'medium' as const } : {}),
  });

  it('puts an analysis that arrives within the budget into the alert; LLM text is labelled as generated', async () => {
    const table = await newTable();
    const calls: string[] = [];
    const analyzer: IncidentAnalyzer = { analyze: async (c) => { calls.push(c.fingerprint); return analysis('llm'); }, close: async () => undefined };
    const { engine: e } = engine({ table, analyzer });
    const fp = candidate().fingerprint;
    e.publish('s', [candidate({ fingerprint: fp })]);
    const alert = await until('alert', () => slack.delivered[0]);
    e.publish('s', [candidate({ fingerprint: fp })]);
    expect(allText(alert.body)).toContain('raised maxPoolSize to 50');
    expect(allText(alert.body)).toContain('Connection pool exhausted');
    expect(allText(alert.body)).toContain('generated by an LLM');
    await new Promise((r) => setTimeout(r, 300));
    expect(calls).toEqual([fp]);
  });

  it('sends the alert without a late analysis and posts the analysis afterwards (thread reply with a bot token)', async () => {
    const table = await newTable();
    const analyzer: IncidentAnalyzer = { analyze: () => new Promise((r) => setTimeout(() => r(analysis('retrieval')), 800)), close: async () => undefined };
    const { engine: e } = engine({ table, analyzer, output: 'bot', config: { ...FAST, analysis: { budgetMs: 100 } } });
    e.publish('s', [candidate()]);
    const root = await until('root', () => slack.delivered[0]);
    expect(allText(root.body)).not.toContain('raised maxPoolSize');
    expect(allText(root.body)).toContain('analysis of similar incidents follows');
    const reply = await until('analysis reply', () => slack.delivered[1]);
    expect(reply.body.thread_ts).toMatch(/^\d+\.000100$/);
    expect(allText(reply.body)).toContain('raised maxPoolSize to 50');
    expect(allText(reply.body)).not.toContain('generated by an LLM');
  });

  it('records each sent alert in the incident log, with its analysis in time or when it comes late', async () => {
    const table = await newTable();
    const recorded: { kind: 'incident' | 'analysis' | 'count'; fingerprint: string; openedAtMs: number; count?: number; analyzer?: string }[] = [];
    const incidentLog: IncidentLog = {
      recordIncident: async (i) => { recorded.push({ kind: 'incident', fingerprint: i.fingerprint, openedAtMs: i.windowOpenedAtMs, count: i.count }); },
      recordAnalysis: async (fingerprint, openedAtMs, a) => { recorded.push({ kind: 'analysis', fingerprint, openedAtMs, analyzer: a.analyzer }); },
      recordCount: async (fingerprint, openedAtMs, c) => { recorded.push({ kind: 'count', fingerprint, openedAtMs, count: c.count }); },
    };
    let delayMs = 0;
    const analyzer: IncidentAnalyzer = { analyze: () => new Promise((r) => setTimeout(() => r(analysis('retrieval')), delayMs)), close: async () => undefined };
    const { engine: e } = engine({ table, analyzer, incidentLog, config: { ...FAST, analysis: { budgetMs: 200 } } });
    const inTime = candidate({ fingerprint: '00000000000000b1', count: 3 });
    e.publish('s', [inTime]);
    await until('in-time analysis recorded', () => recorded.find((r) => r.kind === 'analysis' && r.fingerprint === inTime.fingerprint));
    delayMs = 600;
    const late = candidate({ fingerprint: '00000000000000b2' });
    e.publish('s', [late]);
    await until('late analysis recorded', () => recorded.find((r) => r.kind === 'analysis' && r.fingerprint === late.fingerprint), 5_000);
    const incidents = recorded.filter((r) => r.kind === 'incident');
    expect(incidents.map((r) => r.fingerprint).sort()).toEqual([inTime.fingerprint, late.fingerprint]);
    expect(incidents.find((r) => r.fingerprint === inTime.fingerprint)?.count).toBe(3);
    // The analysis lands on the same document as the incident: same fingerprint and window start.
    for (const a of recorded.filter((r) => r.kind === 'analysis')) {
      expect(incidents.find((i) => i.fingerprint === a.fingerprint)?.openedAtMs).toBe(a.openedAtMs);
    }
    // Repeats in the window: the document's count follows the digest when the window closes.
    e.publish('s', [candidate({ fingerprint: inTime.fingerprint, count: 4 })]);
    const final = await until('the closed window\'s count', () => recorded.find((r) => r.kind === 'count' && r.fingerprint === inTime.fingerprint), 10_000);
    expect(final).toMatchObject({ count: 7, openedAtMs: incidents.find((i) => i.fingerprint === inTime.fingerprint)?.openedAtMs });
  });

  it('posts a late analysis as a follow-up message with a webhook', async () => {
    const table = await newTable();
    const analyzer: IncidentAnalyzer = { analyze: () => new Promise((r) => setTimeout(() => r(analysis('retrieval')), 500)), close: async () => undefined };
    const { engine: e } = engine({ table, analyzer, config: { ...FAST, analysis: { budgetMs: 50 } } });
    e.publish('s', [candidate()]);
    const followUp = await until('follow-up', () => slack.delivered[1]);
    expect(textOf(followUp.body)).toMatch(/^Analysis for order-service/);
  });
});

describe('live Slack (only with CALI_LIVE_SLACK_WEBHOOK_URL set)', () => {
  it.skipIf(!process.env.CALI_LIVE_SLACK_WEBHOOK_URL)('posts one alert to a real incoming webhook', async () => {
    const table = await newTable();
    const settings = compileAlertingConfig(FAST);
    const env = loadAlertingEnv({ SLACK_WEBHOOK_URL: process.env.CALI_LIVE_SLACK_WEBHOOK_URL }, 'cali');
    const events = new AlertEventBus();
    const sent: unknown[] = [];
    events.on('alert.sent', (p) => sent.push(p));
    const e = new AlertingEngine({ settings, store: new AlertStore(client, table), destinationFor: destinationsFor(env, settings, () => undefined), owner: 'live', events });
    e.start();
    engines.push(e);
    e.publish('s', [candidate({ service: 'cali-live-test' })]);
    await until('sent to Slack', () => sent.length === 1, 15_000);
  });
});

describe('shutdown', () => {
  it('drops what cannot be sent within the bound; the window stays claimed-unsent and another replica sends it', async () => {
    const table = await newTable();
    slack.script.push({ hang: true });
    const a = engine({ table, owner: 'leaving' });
    const fp = candidate().fingerprint;
    a.engine.publish('s', [candidate({ fingerprint: fp })]);
    await until('A is sending', () => slack.requests.length === 1);
    engines.splice(engines.indexOf(a.engine), 1);
    const started = performance.now();
    await a.engine.stop(300);
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(a.log['alert.dropped']?.[0]).toMatchObject({ reason: 'shutdown' });
    const record = (await new AlertStore(client, table).windowsOf(fp))[0];
    expect(record?.state).toBe('claimed');
    engine({ table, owner: 'staying' });
    await until('the alert sent by the other replica', () => slack.delivered.find((r) => textOf(r.body).includes(fp)), 15_000);
  }, 20_000);

  it('writes console alerts readably to a file in local mode', async () => {
    const table = await newTable();
    const settings = compileAlertingConfig(FAST);
    const file = join(dir, 'alerts', 'alerts.txt');
    const printed: string[] = [];
    const env = loadAlertingEnv({ CALI_ALERTS_FILE: file }, 'cali');
    const e = new AlertingEngine({ settings, store: new AlertStore(client, table), destinationFor: destinationsFor(env, settings, (text) => printed.push(text)), owner: 'local' });
    e.start();
    engines.push(e);
    e.publish('s', [candidate()]);
    await until('printed', () => printed[0]);
    expect(printed[0]).toMatch(/== HIGH order-service: SQLTransientConnectionException: Connection pool exhausted after 30000 ms ==/);
    expect(readFileSync(file, 'utf8')).toContain('Fingerprint: `');
  });
});
