/**
 * The simulated shop: seven microservices on EKS, Java (Spring Boot) and Python,
 * each with its own pods. Names and packages are fixed so that stack traces of
 * one scenario always show the same frames; only the variable values change.
 */
export type Language = 'java' | 'python';

export interface ServiceDefinition {
  readonly name: string;
  readonly language: Language;
  readonly namespace: string;
  readonly version: string;
  /** Java package or Python package root of the service's own code. */
  readonly codeRoot: string;
  readonly replicas: number;
  /** Thread names the service logs from (Java executor threads, Python threads). */
  readonly threads: readonly string[];
  /** Loggers of normal traffic. */
  readonly loggers: readonly string[];
}

export const SERVICES: readonly ServiceDefinition[] = [
  {
    name: 'api-gateway', language: 'java', namespace: 'edge', version: '3.8.1', codeRoot: 'com.acme.gateway', replicas: 3,
    threads: ['reactor-http-epoll-1', 'reactor-http-epoll-2', 'reactor-http-epoll-3', 'parallel-2'],
    loggers: ['com.acme.gateway.filter.AccessLogFilter', 'com.acme.gateway.route.RouteLocatorConfig', 'org.springframework.cloud.gateway.handler.RoutePredicateHandlerMapping'],
  },
  {
    name: 'user-service', language: 'java', namespace: 'shop', version: '2.14.0', codeRoot: 'com.acme.users', replicas: 2,
    threads: ['http-nio-8080-exec-1', 'http-nio-8080-exec-4', 'http-nio-8080-exec-9', 'scheduling-1'],
    loggers: ['com.acme.users.web.UserController', 'com.acme.users.service.UserService', 'com.acme.users.security.JwtAuthenticationFilter'],
  },
  {
    name: 'order-service', language: 'java', namespace: 'shop', version: '5.2.3', codeRoot: 'com.acme.orders', replicas: 3,
    threads: ['http-nio-8080-exec-2', 'http-nio-8080-exec-5', 'http-nio-8080-exec-7', 'kafka-consumer-orders-0'],
    loggers: ['com.acme.orders.web.OrderController', 'com.acme.orders.service.OrderService', 'com.acme.orders.repository.OrderRepository'],
  },
  {
    name: 'payment-service', language: 'java', namespace: 'shop', version: '4.0.7', codeRoot: 'com.acme.payments', replicas: 2,
    threads: ['http-nio-8080-exec-3', 'http-nio-8080-exec-6', 'payment-retry-1'],
    loggers: ['com.acme.payments.web.PaymentController', 'com.acme.payments.service.PaymentService', 'com.acme.payments.gateway.StripeGatewayClient'],
  },
  {
    name: 'inventory-service', language: 'python', namespace: 'shop', version: '1.9.4', codeRoot: 'inventory', replicas: 2,
    threads: ['MainThread', 'ThreadPoolExecutor-0_0', 'ThreadPoolExecutor-0_1'],
    loggers: ['inventory.api.stock', 'inventory.services.reservation', 'uvicorn.access'],
  },
  {
    name: 'notification-service', language: 'python', namespace: 'shop', version: '0.22.1', codeRoot: 'notifications', replicas: 2,
    threads: ['MainThread', 'celery-worker-1', 'celery-worker-2'],
    loggers: ['notifications.tasks.email', 'notifications.tasks.push', 'celery.worker.strategy'],
  },
  {
    name: 'search-service', language: 'python', namespace: 'shop', version: '2.3.0', codeRoot: 'search', replicas: 2,
    threads: ['MainThread', 'AnyIO worker thread', 'recommendation-refresh'],
    loggers: ['search.api.query', 'search.index.opensearch_client', 'recommendations.jobs.refresh'],
  },
];

export function serviceByName(name: string): ServiceDefinition {
  const service = SERVICES.find((s) => s.name === name);
  if (!service) throw new Error(`unknown simulated service ${name}`);
  return service;
}
