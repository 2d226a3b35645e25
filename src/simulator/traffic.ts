/**
 * Normal traffic: the INFO/DEBUG/WARN lines that make up most of a healthy
 * service's output. Each template has a stable label like the error scenarios
 * so that tests can check that routine lines never group with incidents.
 *
 * A template is one message shape, as an operator would tell events apart:
 * one HTTP endpoint (method and route), one retry target, one cache. A line
 * for `GET /api/v1/users/{id}` and one for `POST /api/v2/orders/{id}` are
 * different events, as are retry storms towards two different services, so
 * they carry different labels (the ground truth of fingerprint accuracy).
 * Only values that vary between occurrences of one event (ids, durations,
 * addresses, amounts) vary within a template.
 */
import type { Faker } from '@faker-js/faker';
import type { LogLevel } from '../schema/log-record.js';
import type { ServiceDefinition } from './services.js';

export interface TrafficTemplate {
  /** Unique; the event's label is `traffic:<id>`. */
  readonly id: string;
  readonly level: LogLevel;
  readonly weight: number;
  message(f: Faker, service: ServiceDefinition): string;
}

interface HttpEndpoint {
  readonly method: 'GET' | 'POST' | 'PUT';
  /** The route as the service declares it; `{...}` are path or query variables. */
  readonly route: string;
  readonly weight: number;
  path(f: Faker): string;
}

const userPath = (f: Faker): string => `/api/v1/users/${f.number.int({ min: 1, max: 999999 })}`;
const orderPath = (f: Faker): string => `/api/v2/orders/ORD-2026-${f.string.numeric(6)}`;
const stockPath = (f: Faker): string => `/api/v1/stock/SKU-${f.string.alphanumeric({ length: 8, casing: 'upper' })}`;

/** The endpoints of the simulated shop's access logs; weights add up to the former single template's 40. */
const HTTP_ENDPOINTS: readonly HttpEndpoint[] = [
  { method: 'GET', route: '/api/v1/users/{id}', weight: 7, path: userPath },
  { method: 'PUT', route: '/api/v1/users/{id}', weight: 3, path: userPath },
  { method: 'GET', route: '/api/v2/orders/{id}', weight: 6, path: orderPath },
  { method: 'POST', route: '/api/v2/orders/{id}', weight: 3, path: orderPath },
  { method: 'PUT', route: '/api/v2/orders/{id}', weight: 2, path: orderPath },
  { method: 'GET', route: '/api/v1/stock/{sku}', weight: 6, path: stockPath },
  { method: 'PUT', route: '/api/v1/stock/{sku}', weight: 3, path: stockPath },
  { method: 'GET', route: '/api/v1/search?q={query}', weight: 6, path: (f) => `/api/v1/search?q=${encodeURIComponent(f.commerce.productName())}` },
  { method: 'GET', route: '/actuator/health', weight: 4, path: () => '/actuator/health' },
];

const httpAccess = (endpoint: HttpEndpoint): TrafficTemplate => ({
  id: `http-access:${endpoint.method} ${endpoint.route}`, level: 'INFO', weight: endpoint.weight,
  message: (f) => `${endpoint.method} ${endpoint.path(f)} -> ${f.helpers.arrayElement([200, 200, 200, 201, 204, 404])} in ${f.number.int({ min: 2, max: 900 })} ms (client=${f.internet.ipv4()})`,
});

const cacheStats = (cache: string, weight: number): TrafficTemplate => ({
  id: `cache-stats:${cache}`, level: 'DEBUG', weight,
  message: (f) => `Cache ${cache} hit ratio ${f.number.float({ min: 0.5, max: 0.99, fractionDigits: 3 })} size=${f.number.int({ min: 100, max: 50000 })}`,
});

const retryingCall = (target: string): TrafficTemplate => ({
  id: `retrying-call:${target}`, level: 'WARN', weight: 1,
  message: (f) => `Retrying call to ${target} (attempt ${f.number.int({ min: 2, max: 3 })}/3) after ${f.number.int({ min: 50, max: 800 })} ms`,
});

export const TRAFFIC_TEMPLATES: readonly TrafficTemplate[] = [
  ...HTTP_ENDPOINTS.map(httpAccess),
  {
    id: 'order-placed', level: 'INFO', weight: 12,
    message: (f) => `Order ORD-2026-${f.string.numeric(6)} placed by ${f.internet.email()}: ${f.number.int({ min: 1, max: 9 })} items, total ${f.finance.amount({ min: 3, max: 900, dec: 2 })} USD`,
  },
  {
    id: 'payment-captured', level: 'INFO', weight: 8,
    message: (f) => `Captured payment txn_${f.string.alphanumeric(24)} amount=${f.finance.amount({ min: 3, max: 900, dec: 2 })} currency=USD`,
  },
  {
    id: 'user-login', level: 'INFO', weight: 8,
    message: (f) => `User ${f.internet.username()} (${f.person.fullName()}) signed in from ${f.internet.ipv4()}`,
  },
  cacheStats('products', 4),
  cacheStats('sessions', 3),
  cacheStats('prices', 3),
  {
    id: 'kafka-poll', level: 'DEBUG', weight: 6,
    message: (f) => `Polled ${f.number.int({ min: 0, max: 500 })} records from partition ${f.number.int({ min: 0, max: 11 })} at offset ${f.number.int({ min: 1000, max: 90000000 })}`,
  },
  {
    id: 'slow-query', level: 'WARN', weight: 4,
    message: (f) => `Slow query took ${f.number.int({ min: 1000, max: 9000 })} ms: SELECT * FROM orders WHERE customer_id = ${f.number.int({ min: 1, max: 999999 })}`,
  },
  ...['payment-service', 'inventory-service', 'user-service'].map(retryingCall),
];
