import { describe, expect, it } from 'vitest';
import { simulatorAccuracy } from '../bench/fingerprint-accuracy.js';
import { LogSimulator, steppingClock } from '../src/simulator/generator.js';
import { ERROR_SCENARIOS } from '../src/simulator/scenarios.js';
import { GenerationalCache } from '../src/workers/fingerprint/cache.js';
import type { FingerprintConfig } from '../src/workers/fingerprint/config.js';
import { compileFingerprinter, type FingerprintInput } from '../src/workers/fingerprint/fingerprint.js';
import { Fnv1a64, fnv1a64 } from '../src/workers/fingerprint/hash.js';

const fingerprint = compileFingerprinter();

function javaEvent(trace: string[], extra: Partial<FingerprintInput> = {}): FingerprintInput {
  const header = '2026-11-29T14:30:57.123Z ERROR [order-service] [http-nio-8080-exec-7] com.acme.orders.OrderService - Order failed';
  return { service: 'order-service', level: 'ERROR', message: 'Order failed', log_content: [header, ...trace].join('\n'), ...extra };
}

const npeTrace = (line: number, lambda = '1234/0x000000080012a000', accessor = 123): string[] => [
  'java.lang.NullPointerException: Cannot invoke "com.acme.orders.model.Address.getPostalCode()" because "address" is null',
  `\tat com.acme.orders.validation.ShippingRules.requirePostalCode(ShippingRules.java:${line})`,
  '\tat com.acme.orders.validation.OrderValidator.lambda$validate$2(OrderValidator.java:63)',
  `\tat com.acme.orders.validation.OrderValidator$$Lambda/${lambda}.accept(Unknown Source)`,
  '\tat java.base/java.util.ArrayList.forEach(ArrayList.java:1596)',
  '\tat com.acme.orders.service.OrderService$$SpringCGLIB$$0.placeOrder(<generated>)',
  `\tat jdk.internal.reflect.GeneratedMethodAccessor${accessor}.invoke(Unknown Source)`,
  '\tat com.acme.orders.web.OrderController.create(OrderController.java:74)',
];

describe('FNV-1a 64', () => {
  it('matches the published test vectors', () => {
    expect(fnv1a64('')).toBe('cbf29ce484222325');
    expect(fnv1a64('a')).toBe('af63dc4c8601ec8c');
    expect(fnv1a64('foobar')).toBe('85944171f73967e8');
  });

  it('hashes the UTF-8 bytes of any string, as a BigInt reference over TextEncoder does', () => {
    const reference = (text: string): string => {
      let h = 0xcbf29ce484222325n;
      for (const byte of new TextEncoder().encode(text)) h = ((h ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
      return h.toString(16).padStart(16, '0');
    };
    // Longer than the 16 KiB encoding buffer, with a 4-byte character where the first chunk ends.
    const long = [`${'a'.repeat(16383)}😀b`, 'é€😀\ud800'.repeat(5000)];
    for (const text of ['héllo wörld €', 'emoji 😀 x', 'lone \ud800 high', '\udc00 lone low', '中文日志', 'x'.repeat(3000), ...long]) {
      expect(fnv1a64(text), text).toBe(reference(text));
    }
    expect(new Fnv1a64().update('foo').update('bar').digest()).toBe(fnv1a64('foobar'));
  });
});

describe('fingerprints of simulator events', () => {
  it('group every error scenario and traffic template (GA >= 0.99) and merge no two labels, across seeds', () => {
    for (const seed of [11, 12, 13]) {
      const result = simulatorAccuracy(fingerprint, seed, 4000, 0.5);
      expect(result.errors, `seed ${seed}`).toBeGreaterThanOrEqual(0.99);
      expect(result.all, `seed ${seed}: split ${JSON.stringify([...result.split])}`).toBeGreaterThanOrEqual(0.99);
      expect(result.merged, `seed ${seed}`).toEqual([]);
    }
  });

  it('give each scenario one fingerprint, distinct from every other scenario and traffic template', () => {
    const simulator = new LogSimulator({ seed: 5, errorRatio: 0.4, invalidRatio: 0, clock: steppingClock(Date.UTC(2026, 0, 1), 500) });
    const byLabel = new Map<string, Set<string>>();
    for (let i = 0; i < 3000; i++) {
      const event = simulator.next();
      if (event.kind !== 'valid') continue;
      const label = event.isError ? event.label : `${event.label}@${event.record.service}`;
      const set = byLabel.get(label) ?? new Set<string>();
      set.add(fingerprint(event.record).fingerprint);
      byLabel.set(label, set);
    }
    for (const scenario of ERROR_SCENARIOS) expect(byLabel.get(scenario.id)?.size, scenario.id).toBe(1);
    const owners = new Map<string, string>();
    for (const [label, fps] of byLabel) {
      for (const fp of fps) {
        expect(owners.get(fp), `${label} shares ${fp}`).toBeUndefined();
        owners.set(fp, label);
      }
    }
  });

  it('hash exactly the key that explain shows, for any configuration', () => {
    const configs: Partial<FingerprintConfig>[] = [{}, { keyFields: [] }, { keyFields: ['logger', 'namespace', 'service'] },
      { stackKeyIncludesMessage: true }, { extraMasks: [{ name: 'order', pattern: 'ORD-[0-9-]+' }] }];
    const simulator = new LogSimulator({ seed: 17, errorRatio: 0.5, invalidRatio: 0 });
    const events: FingerprintInput[] = [{}, { message: 'héllo wörld € 😀 \ud800 x', service: 'sérvice', level: 'Wärn' }];
    for (let i = 0; i < 300; i++) {
      const event = simulator.next();
      if (event.kind === 'valid') events.push(event.record);
    }
    for (const config of configs) {
      const configured = compileFingerprinter(config);
      for (const event of events) {
        const explained = configured.explain(event);
        expect(fnv1a64(explained.key)).toBe(explained.fingerprint);
        expect(configured(event).fingerprint).toBe(explained.fingerprint);
      }
    }
  });

  it('do not depend on what was fingerprinted before (caches only memoise)', () => {
    const simulator = new LogSimulator({ seed: 23, errorRatio: 0.6, invalidRatio: 0 });
    const events: FingerprintInput[] = [];
    while (events.length < 400) {
      const event = simulator.next();
      if (event.kind === 'valid') events.push(event.record);
    }
    const warm = compileFingerprinter();
    const forwards = events.map((e) => warm(e).fingerprint);
    // Push every cached frame and key prefix out: thousands of new frame lines and services.
    for (let i = 0; i < 5000; i++) {
      warm({ service: `s${i}`, level: 'ERROR', message: 'x', log_content: `Traceback (most recent call last):\n  File "/app/m${i}.py", line 1, in f\nValueError: x` });
      warm({ service: `s${i}`, message: 'x', log_content: `Error: x\n    at f (/app/m${i}.js:1:1)` });
    }
    const cold = compileFingerprinter();
    expect([...events].reverse().map((e) => cold(e).fingerprint).reverse()).toEqual(forwards);
    expect(events.map((e) => warm(e).fingerprint)).toEqual(forwards);
  });

  it('is the same across fresh compiles and for a copy of the record', () => {
    const simulator = new LogSimulator({ seed: 9, errorRatio: 0.5, invalidRatio: 0 });
    const other = compileFingerprinter({});
    for (let i = 0; i < 200; i++) {
      const event = simulator.next();
      if (event.kind !== 'valid') continue;
      const copy = JSON.parse(JSON.stringify(event.record)) as FingerprintInput;
      expect(other(copy)).toEqual(fingerprint(event.record));
    }
  });
});

describe('stack trace fingerprints', () => {
  it('ignore line numbers, generated lambda classes, proxies and accessors', () => {
    const base = fingerprint(javaEvent(npeTrace(48)));
    expect(base.kind).toBe('stack');
    expect(fingerprint(javaEvent(npeTrace(51, '77/0x0000000800abc000', 456))).fingerprint).toBe(base.fingerprint);
    expect(base.exceptions[0]!.frames).toEqual([
      'com.acme.orders.validation.ShippingRules.requirePostalCode',
      'com.acme.orders.validation.OrderValidator.lambda$validate',
      'com.acme.orders.web.OrderController.create',
    ]);
  });

  it('ignore the message of the exception and the log line by default', () => {
    const a = fingerprint(javaEvent(npeTrace(48), { message: 'Order ORD-1 failed for alice' }));
    const b = javaEvent(npeTrace(48), { message: 'Order ORD-2 failed for bob' });
    expect(fingerprint(b).fingerprint).toBe(a.fingerprint);
  });

  it('separate errors thrown from different in-app frames or of different types', () => {
    const base = fingerprint(javaEvent(npeTrace(48))).fingerprint;
    const otherFrame = npeTrace(48).map((l) => l.replace('requirePostalCode', 'requireCity'));
    expect(fingerprint(javaEvent(otherFrame)).fingerprint).not.toBe(base);
    const otherType = npeTrace(48).map((l) => l.replace('java.lang.NullPointerException', 'java.lang.IllegalStateException'));
    expect(fingerprint(javaEvent(otherType)).fingerprint).not.toBe(base);
  });

  it('take the chained root cause into account', () => {
    const wrapped = (cause: string): string[] => [
      'com.acme.orders.OrderException: could not place order',
      '\tat com.acme.orders.service.OrderService.placeOrder(OrderService.java:102)',
      `Caused by: ${cause}`,
      '\tat com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:179)',
      '\t... 12 more',
    ];
    const timeout = fingerprint(javaEvent(wrapped('java.sql.SQLTransientConnectionException: timed out after 30000ms')));
    const refused = fingerprint(javaEvent(wrapped('java.net.ConnectException: Connection refused')));
    expect(timeout.fingerprint).not.toBe(refused.fingerprint);
    expect(timeout.exceptions.map((e) => e.type)).toEqual(['com.acme.orders.OrderException', 'java.sql.SQLTransientConnectionException']);
    // A library-only root cause is identified by its library frames.
    expect(timeout.exceptions[1]!.frames).toEqual(['com.zaxxer.hikari.pool.HikariPool.getConnection']);
  });

  it('keep suppressed exceptions out of the key', () => {
    const trace = [
      'java.io.IOException: write failed',
      '\tat com.acme.files.Exporter.write(Exporter.java:20)',
      '\tSuppressed: java.io.IOException: close failed',
      '\t\tat com.acme.files.Exporter.close(Exporter.java:40)',
      '\tat com.acme.files.Exporter.run(Exporter.java:12)',
    ];
    const result = fingerprint(javaEvent(trace));
    expect(result.exceptions).toEqual([{ type: 'java.io.IOException', frames: ['com.acme.files.Exporter.write', 'com.acme.files.Exporter.run'] }]);
  });

  it('read Python tracebacks: innermost in-app frames first, the chain outermost first', () => {
    const traceback = (line: number): string => [
      '2026-11-29 ERROR refresh failed',
      'Traceback (most recent call last):',
      `  File "/app/recommendations/features/store.py", line ${line}, in load`,
      '    return self._decode(raw)[feature_name]',
      "KeyError: 'embedding_v2'",
      '',
      'During handling of the above exception, another exception occurred:',
      '',
      'Traceback (most recent call last):',
      '  File "/app/recommendations/jobs/refresh.py", line 88, in run',
      '    features = self.feature_store.load(user_id)',
      '  File "/usr/local/lib/python3.12/site-packages/tenacity/__init__.py", line 480, in __call__',
      '    result = fn(*args, **kwargs)',
      '  File "/app/recommendations/features/store.py", line 146, in load',
      '    raise FeatureMissingError(user_id) from None',
      'recommendations.errors.FeatureMissingError: feature missing for user 42',
    ].join('\n');
    const result = fingerprint({ service: 'search', level: 'ERROR', message: 'refresh failed', log_content: traceback(142) });
    expect(result.exceptions).toEqual([
      { type: 'recommendations.errors.FeatureMissingError', frames: ['app.recommendations.features.store:load', 'app.recommendations.jobs.refresh:run'] },
      { type: 'KeyError', frames: ['app.recommendations.features.store:load'] },
    ]);
    expect(fingerprint({ service: 'search', level: 'ERROR', message: 'x', log_content: traceback(150) }).fingerprint).toBe(result.fingerprint);
  });

  it('read Node.js stack frames', () => {
    const trace = (column: number): string => [
      "TypeError: Cannot read properties of undefined (reading 'id')",
      `    at handler (/srv/app/src/routes/orders.js:41:${column})`,
      '    at Layer.handle (/srv/app/node_modules/express/lib/router/layer.js:95:5)',
      '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
    ].join('\n');
    const result = fingerprint({ message: 'request failed', log_content: `request failed\n${trace(12)}` });
    expect(result.exceptions).toEqual([{ type: 'TypeError', frames: ['/srv/app/src/routes/orders.js:handler'] }]);
    expect(fingerprint({ message: 'x', log_content: `x\n${trace(99)}` }).fingerprint).toBe(result.fingerprint);
  });

  it('use only the configured in-app prefixes and skip ignored frames', () => {
    const trace = [
      'java.lang.IllegalStateException: boom',
      '\tat org.example.lib.Helper.check(Helper.java:10)',
      '\tat com.acme.billing.Invoice.total(Invoice.java:20)',
      '\tat com.acme.billing.Invoice.render(Invoice.java:30)',
    ];
    const configured = compileFingerprinter({ inAppPrefixes: ['com.acme.'], ignoreFramePrefixes: ['com.acme.billing.Invoice.render'] });
    expect(configured(javaEvent(trace)).exceptions[0]!.frames).toEqual(['com.acme.billing.Invoice.total']);
    expect(fingerprint(javaEvent(trace)).exceptions[0]!.frames[0]).toBe('org.example.lib.Helper.check');
    const top1 = compileFingerprinter({ maxFramesPerException: 1 });
    expect(top1(javaEvent(trace)).exceptions[0]!.frames).toHaveLength(1);
  });
});

describe('message fingerprints', () => {
  const same = (a: string, b: string): void => {
    expect(fingerprint({ message: a }).fingerprint, `${a}\n${b}`).toBe(fingerprint({ message: b }).fingerprint);
  };
  const different = (a: string, b: string): void => {
    expect(fingerprint({ message: a }).fingerprint, `${a}\n${b}`).not.toBe(fingerprint({ message: b }).fingerprint);
  };

  it('mask variable values of every kind the issue lists', () => {
    same('Request 42 from 10.0.0.1:8080 took 35 ms', 'Request 97 from 192.168.1.20:443 took 1.5 s');
    same('user=alice id=7f9c2ba4-e88f-11e9-81b4-2a2ae2dbcce4 sent 12 KB', 'user=bob id=0b1e7c4e-1f2a-4b3c-9d8e-7f6a5b4c3d2e sent 3.2 MB');
    same('Mail to jane.doe@example.com via smtp.example.com failed', 'Mail to bob@corp.example.org via mx1.mail.example.net failed');
    same('GET https://api.example.com/v1/items?page=2 failed', 'GET http://10.1.2.3:8080/health failed');
    same('Cannot open /var/lib/app/data-17.db', 'Cannot open C:\\ProgramData\\app\\store.db');
    same('Started at 2026-11-29T14:30:57.123Z (Sun Nov 29 14:30:57 2026)', 'Started at 2025-01-02T03:04:05Z (Thu Jan  2 03:04:05 2025)');
    same('Key \'embedding_v2\' missing in "store"', 'Key \'user-profile\' missing in "cache-7"');
    same('Task Transitioned from NEW to SCHEDULED', 'Task Transitioned from RUNNING to SUCCEEDED');
    same('session opened for user cyrus by (uid=0)', 'session opened for user news by (uid=500)');
    same('Failed password for root from 1.2.3.4 port 22 ssh2', 'Failed password for admin from 5.6.7.8 port 2201 ssh2');
    same('token 0x7fed806eb5d rejected, hash 9f86d081884c7d65', 'token 0xE0000340 rejected, hash 2c26b46b68ffc68f');
    same('User Abdiel25 (Samir Daugherty) signed in', 'User Merritt_Welch (Reagan Green II) signed in');
    same('Kind: YARN_AM_RM_TOKEN, Service: x', 'Kind: HDFS_DELEGATION_TOKEN, Service: x');
  });

  it('keep the route of an HTTP request and mask its variable segments and query values', () => {
    same('GET /api/v1/users/123 -> 200 in 5 ms', 'GET /api/v1/users/98765 -> 404 in 12 ms');
    same('PUT /api/v1/stock/SKU-MKSKTJUI -> 204', 'PUT /api/v1/stock/SKU-4F7Q2ZXA -> 204');
    same('GET /api/v1/search?q=Sleek%20Granite%20Chair&page=2', 'GET /api/v1/search?q=chair&page=10');
    different('GET /api/v1/users/1 -> 200', 'POST /api/v1/users/1 -> 200');
    different('GET /api/v1/users/1 -> 200', 'GET /api/v2/orders/ORD-2026-000001 -> 200');
    different('GET /api/v1/search?q=x', 'GET /api/v1/search?term=x');
    const explained = fingerprint.explain({ message: 'GET /api/v2/orders/ORD-2026-123456/items?expand=true#top' });
    expect(explained.template).toBe('GET /api/v2/orders/<*>/items?expand=<*>#<*>');
    expect(explained.masked).toEqual([
      { kind: 'id', text: 'ORD-2026-123456' }, { kind: 'value', text: 'true' }, { kind: 'value', text: 'top' },
    ]);
    // A path that is not a request target stays one value.
    same('Cannot open /var/lib/app/data.db', 'Cannot open /srv/store/other.db');
  });

  it('mask generated ids without digits, and keep camel-case names', () => {
    same('Captured payment txn_DikZUxneubSqreJWLYIFCSGU', 'Captured payment txn_lENuqGsoQrBeptNoKyIqFdEi');
    same('Captured payment txn_DikZUxneubSqreJWLYIFCSGU', 'Captured payment txn_3kZ9aQ1pLmN0xYb7VcD2sEfG');
    same('session aZqPxLmWvBtRkYsNcDfG expired', 'session QwErTyUiOpAsDfGhJkLz expired');
    different('policy RetryUpToMaximumCountWithFixedSleep applied', 'policy ExponentialBackoffRetryPolicyImpl applied');
    different('exporting ExportTableToPointInTimeCommand', 'exporting RestoreTableToPointInTimeCommand');
    different('factory NIOServerCnxnFactory started', 'factory NettyServerCnxnFactory started');
  });

  it('keep words that carry meaning', () => {
    different('Connection refused', 'Connection reset by peer');
    different('Failed password for root from 1.2.3.4 port 22 ssh2', 'Failed password for invalid user root from 1.2.3.4 port 22 ssh2');
    different('Block broadcast_2 stored as values in memory', 'Block broadcast_2 stored as bytes in memory');
    different('cupsd shutdown succeeded', 'cupsd startup succeeded');
    different('upstream returned 503 Service Unavailable', 'upstream returned 500 Internal Server Error');
    different('negotiated IPv4', 'negotiated IPv6');
  });

  it('separate services and level classes, configurably', () => {
    const event = { message: 'Cache refresh failed', service: 'orders', level: 'ERROR' };
    expect(fingerprint({ ...event, service: 'payments' }).fingerprint).not.toBe(fingerprint(event).fingerprint);
    expect(fingerprint({ ...event, level: 'WARN' }).fingerprint).not.toBe(fingerprint(event).fingerprint);
    expect(fingerprint({ ...event, level: 'FATAL' }).fingerprint).toBe(fingerprint({ ...event, level: 'CRITICAL' }).fingerprint);
    expect(fingerprint({ ...event, level: 'WARNING' }).fingerprint).toBe(fingerprint({ ...event, level: 'WARN' }).fingerprint);
    const textOnly = compileFingerprinter({ keyFields: [] });
    expect(textOnly({ ...event, service: 'payments', level: 'WARN' }).fingerprint).toBe(textOnly(event).fingerprint);
    const byNamespace = compileFingerprinter({ keyFields: ['namespace'] });
    expect(byNamespace({ ...event, kubernetes: { namespace_name: 'a' } }).fingerprint)
      .not.toBe(byNamespace({ ...event, kubernetes: { namespace_name: 'b' } }).fingerprint);
  });

  it('apply extra masks from the configuration', () => {
    const configured = compileFingerprinter({ extraMasks: [{ name: 'tenant', pattern: 'tenant [a-z]+' }] });
    const a = configured.explain({ message: 'Quota exceeded for tenant acme' });
    expect(a.template).toBe('Quota exceeded for <*>');
    expect(a.masked).toContainEqual({ kind: 'custom', text: 'tenant acme' });
    expect(configured({ message: 'Quota exceeded for tenant globex' }).fingerprint).toBe(a.fingerprint);
  });

  it('explain the key it hashed', () => {
    const explained = fingerprint.explain({ message: 'Retry 3 of job 17', service: 's', level: 'INFO' });
    expect(explained.template).toBe('Retry <*> of job <*>');
    expect(fnv1a64(explained.key)).toBe(explained.fingerprint);
    expect(explained.masked.map((m) => m.kind)).toEqual(['number', 'number']);
    expect(fingerprint({ message: 'Retry 3 of job 17', service: 's', level: 'INFO' }).fingerprint).toBe(explained.fingerprint);
  });
});

describe('GenerationalCache', () => {
  it('holds at most twice its capacity and keeps entries that are used', () => {
    const cache = new GenerationalCache<number>(4);
    for (let i = 0; i < 100; i++) {
      cache.set(`k${i}`, i);
      expect(cache.get('k0'), `after ${i}`).toBe(0); // used on every insertion: never evicted
      expect(cache.size).toBeLessThanOrEqual(8);
    }
    expect(cache.get('k1')).toBeUndefined();
    expect(cache.get('k99')).toBe(99);
  });
});
