/**
 * Normal traffic: the INFO/DEBUG/WARN lines that make up most of a healthy
 * service's output. Each template has a stable label like the error scenarios
 * so that tests can check that routine lines never group with incidents.
 */
import type { Faker } from '@faker-js/faker';
import type { LogLevel } from '../schema/log-record.js';
import type { ServiceDefinition } from './services.js';

export interface TrafficTemplate {
  readonly id: string;
  readonly level: LogLevel;
  readonly weight: number;
  message(f: Faker, service: ServiceDefinition): string;
}

const httpPath = (f: Faker): string => f.helpers.arrayElement([
  `/api/v1/users/${f.number.int({ min: 1, max: 999999 })}`,
  `/api/v2/orders/ORD-2026-${f.string.numeric(6)}`,
  `/api/v1/stock/SKU-${f.string.alphanumeric({ length: 8, casing: 'upper' })}`,
  `/api/v1/search?q=${encodeURIComponent(f.commerce.productName())}`,
  '/actuator/health',
]);

export const TRAFFIC_TEMPLATES: readonly TrafficTemplate[] = [
  {
    id: 'http-access', level: 'INFO', weight: 40,
    message: (f) => `${f.helpers.arrayElement(['GET', 'POST', 'PUT'])} ${httpPath(f)} -> ${f.helpers.arrayElement([200, 200, 200, 201, 204, 404])} in ${f.number.int({ min: 2, max: 900 })} ms (client=${f.internet.ipv4()})`,
  },
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
  {
    id: 'cache-stats', level: 'DEBUG', weight: 10,
    message: (f) => `Cache ${f.helpers.arrayElement(['products', 'sessions', 'prices'])} hit ratio ${f.number.float({ min: 0.5, max: 0.99, fractionDigits: 3 })} size=${f.number.int({ min: 100, max: 50000 })}`,
  },
  {
    id: 'kafka-poll', level: 'DEBUG', weight: 6,
    message: (f) => `Polled ${f.number.int({ min: 0, max: 500 })} records from partition ${f.number.int({ min: 0, max: 11 })} at offset ${f.number.int({ min: 1000, max: 90000000 })}`,
  },
  {
    id: 'slow-query', level: 'WARN', weight: 4,
    message: (f) => `Slow query took ${f.number.int({ min: 1000, max: 9000 })} ms: SELECT * FROM orders WHERE customer_id = ${f.number.int({ min: 1, max: 999999 })}`,
  },
  {
    id: 'retrying-call', level: 'WARN', weight: 3,
    message: (f) => `Retrying call to ${f.helpers.arrayElement(['payment-service', 'inventory-service', 'user-service'])} (attempt ${f.number.int({ min: 2, max: 3 })}/3) after ${f.number.int({ min: 50, max: 800 })} ms`,
  },
];
