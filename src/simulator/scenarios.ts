/**
 * Error scenarios: each is one distinct incident with its own stack trace, as the
 * service would print it. Within a scenario only variable values change (ids,
 * amounts, addresses, timings, generated lambda/accessor numbers); frames, line
 * numbers and exception types stay put, so a good fingerprint groups every
 * occurrence of a scenario and separates scenarios. The `id` is the ground-truth
 * label tests measure grouping against.
 */
import type { Faker } from '@faker-js/faker';
import type { LogLevel } from '../schema/log-record.js';
import { serviceByName, type ServiceDefinition } from './services.js';

export interface ScenarioContext {
  readonly faker: Faker;
  readonly service: ServiceDefinition;
  /** Event time: anything time-derived in a message is relative to it, never to the wall clock. */
  readonly nowMs: number;
}

export interface ScenarioOccurrence {
  readonly logger: string;
  readonly thread: string;
  readonly message: string;
  /** Stack trace lines after the header line, without trailing newlines. */
  readonly trace: readonly string[];
}

export interface ErrorScenario {
  readonly id: string;
  readonly title: string;
  readonly service: ServiceDefinition;
  readonly level: LogLevel;
  generate(ctx: ScenarioContext): ScenarioOccurrence;
}

const at = (frame: string): string => `\tat ${frame}`;
const more = (n: number): string => `\t... ${n} more`;
const pyFrame = (file: string, line: number, fn: string, code: string): string[] =>
  [`  File "${file}", line ${line}, in ${fn}`, `    ${code}`];

const orderNumber = (f: Faker): string => `ORD-${f.number.int({ min: 2024, max: 2026 })}-${f.string.numeric(6)}`;
const sku = (f: Faker): string => `SKU-${f.string.alphanumeric({ length: 8, casing: 'upper' })}`;
const transactionId = (f: Faker): string => `txn_${f.string.alphanumeric(24)}`;
const amount = (f: Faker): string => f.finance.amount({ min: 3, max: 2500, dec: 2 });
const lambdaSuffix = (f: Faker): string => `${f.number.int({ min: 100, max: 2999 })}/0x${f.string.hexadecimal({ length: 16, casing: 'lower', prefix: '' })}`;
const cluster = (svc: string, ns: string): string => `${svc}.${ns}.svc.cluster.local`;

const springMvcFrames = [
  'org.springframework.web.servlet.FrameworkServlet.processRequest(FrameworkServlet.java:1014)',
  'org.springframework.web.servlet.FrameworkServlet.doPost(FrameworkServlet.java:914)',
  'jakarta.servlet.http.HttpServlet.service(HttpServlet.java:590)',
  'org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:885)',
  'org.apache.catalina.core.ApplicationFilterChain.internalDoFilter(ApplicationFilterChain.java:195)',
  'org.apache.catalina.core.ApplicationFilterChain.doFilter(ApplicationFilterChain.java:140)',
  'org.springframework.web.filter.RequestContextFilter.doFilterInternal(RequestContextFilter.java:100)',
  'org.springframework.web.filter.OncePerRequestFilter.doFilter(OncePerRequestFilter.java:116)',
  'org.apache.tomcat.util.threads.ThreadPoolExecutor.runWorker(ThreadPoolExecutor.java:1190)',
  'java.base/java.lang.Thread.run(Thread.java:1583)',
];

const dbPoolExhausted: ErrorScenario = {
  id: 'db-pool-exhausted',
  title: 'Database connection pool exhausted',
  service: serviceByName('order-service'),
  level: 'ERROR',
  generate({ faker: f }) {
    const waitMs = 30000;
    const active = f.number.int({ min: 20, max: 20 });
    const waiting = f.number.int({ min: 5, max: 180 });
    const order = orderNumber(f);
    return {
      logger: 'com.acme.orders.service.OrderService',
      thread: `http-nio-8080-exec-${f.number.int({ min: 1, max: 200 })}`,
      message: `Failed to place order ${order} for customer ${f.internet.email()}`,
      trace: [
        'org.springframework.transaction.CannotCreateTransactionException: Could not open JPA EntityManager for transaction',
        at('org.springframework.orm.jpa.JpaTransactionManager.doBegin(JpaTransactionManager.java:466)'),
        at('org.springframework.transaction.support.AbstractPlatformTransactionManager.startTransaction(AbstractPlatformTransactionManager.java:531)'),
        at('org.springframework.transaction.support.AbstractPlatformTransactionManager.getTransaction(AbstractPlatformTransactionManager.java:405)'),
        at('org.springframework.transaction.interceptor.TransactionAspectSupport.createTransactionIfNecessary(TransactionAspectSupport.java:617)'),
        at('org.springframework.transaction.interceptor.TransactionInterceptor.invoke(TransactionInterceptor.java:119)'),
        at('org.springframework.aop.framework.ReflectiveMethodInvocation.proceed(ReflectiveMethodInvocation.java:184)'),
        at('com.acme.orders.service.OrderService$$SpringCGLIB$$0.placeOrder(<generated>)'),
        at('com.acme.orders.web.OrderController.create(OrderController.java:74)'),
        at(`jdk.internal.reflect.GeneratedMethodAccessor${f.number.int({ min: 80, max: 400 })}.invoke(Unknown Source)`),
        at('java.base/java.lang.reflect.Method.invoke(Method.java:580)'),
        ...springMvcFrames.slice(0, 4).map(at),
        `Caused by: java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out after ${waitMs}ms (total=${active}, active=${active}, idle=0, waiting=${waiting})`,
        at('com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:686)'),
        at('com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:179)'),
        at('com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:144)'),
        at('com.zaxxer.hikari.HikariDataSource.getConnection(HikariDataSource.java:127)'),
        at('org.hibernate.engine.jdbc.connections.internal.DatasourceConnectionProviderImpl.getConnection(DatasourceConnectionProviderImpl.java:122)'),
        at('org.hibernate.resource.jdbc.internal.LogicalConnectionManagedImpl.acquireConnectionIfNeeded(LogicalConnectionManagedImpl.java:108)'),
        at('org.springframework.orm.jpa.JpaTransactionManager.doBegin(JpaTransactionManager.java:420)'),
        more(61),
      ],
    };
  },
};

const paymentGatewayTimeout: ErrorScenario = {
  id: 'payment-gateway-timeout',
  title: 'Payment gateway authorization timeout',
  service: serviceByName('payment-service'),
  level: 'ERROR',
  generate({ faker: f }) {
    const txn = transactionId(f);
    return {
      logger: 'com.acme.payments.gateway.StripeGatewayClient',
      thread: `http-nio-8080-exec-${f.number.int({ min: 1, max: 200 })}`,
      message: `Authorization failed for order ${orderNumber(f)} amount=${amount(f)} ${f.helpers.arrayElement(['USD', 'EUR', 'GBP'])} card=**** **** **** ${f.string.numeric(4)}`,
      trace: [
        `com.acme.payments.gateway.PaymentGatewayException: Gateway did not answer authorization ${txn} within 5000 ms`,
        at('com.acme.payments.gateway.StripeGatewayClient.authorize(StripeGatewayClient.java:142)'),
        at('com.acme.payments.service.PaymentService.authorizeWithRetry(PaymentService.java:211)'),
        at('com.acme.payments.service.PaymentService.authorize(PaymentService.java:88)'),
        at('com.acme.payments.service.PaymentService$$SpringCGLIB$$0.authorize(<generated>)'),
        at('com.acme.payments.web.PaymentController.authorize(PaymentController.java:57)'),
        at(`jdk.internal.reflect.GeneratedMethodAccessor${f.number.int({ min: 80, max: 400 })}.invoke(Unknown Source)`),
        at('java.base/java.lang.reflect.Method.invoke(Method.java:580)'),
        ...springMvcFrames.slice(0, 5).map(at),
        'Caused by: java.net.SocketTimeoutException: Read timed out',
        at('java.base/sun.nio.ch.NioSocketImpl.timedRead(NioSocketImpl.java:278)'),
        at('java.base/sun.nio.ch.NioSocketImpl.implRead(NioSocketImpl.java:304)'),
        at('java.base/sun.nio.ch.NioSocketImpl.read(NioSocketImpl.java:346)'),
        at('java.base/java.net.Socket$SocketInputStream.read(Socket.java:1099)'),
        at('org.apache.hc.core5.http.impl.io.SessionInputBufferImpl.fillBuffer(SessionInputBufferImpl.java:149)'),
        at('org.apache.hc.client5.http.impl.classic.InternalHttpClient.doExecute(InternalHttpClient.java:174)'),
        at('com.acme.payments.gateway.StripeGatewayClient.post(StripeGatewayClient.java:203)'),
        at('com.acme.payments.gateway.StripeGatewayClient.authorize(StripeGatewayClient.java:137)'),
        more(14),
      ],
    };
  },
};

const npeOrderValidation: ErrorScenario = {
  id: 'npe-order-validation',
  title: 'NullPointerException in order validation',
  service: serviceByName('order-service'),
  level: 'ERROR',
  generate({ faker: f }) {
    return {
      logger: 'com.acme.orders.web.GlobalExceptionHandler',
      thread: `http-nio-8080-exec-${f.number.int({ min: 1, max: 200 })}`,
      message: `Unhandled exception for POST /api/v2/orders (user=${f.internet.username()}, items=${f.number.int({ min: 1, max: 12 })})`,
      trace: [
        'java.lang.NullPointerException: Cannot invoke "com.acme.orders.model.Address.getPostalCode()" because the return value of "com.acme.orders.model.Order.getShippingAddress()" is null',
        at('com.acme.orders.validation.ShippingRules.requirePostalCode(ShippingRules.java:48)'),
        at(`com.acme.orders.validation.OrderValidator.lambda$validate$2(OrderValidator.java:63)`),
        at(`com.acme.orders.validation.OrderValidator$$Lambda/${lambdaSuffix(f)}.accept(Unknown Source)`),
        at('java.base/java.util.ArrayList.forEach(ArrayList.java:1596)'),
        at('com.acme.orders.validation.OrderValidator.validate(OrderValidator.java:61)'),
        at('com.acme.orders.service.OrderService.placeOrder(OrderService.java:102)'),
        at('com.acme.orders.service.OrderService$$SpringCGLIB$$0.placeOrder(<generated>)'),
        at('com.acme.orders.web.OrderController.create(OrderController.java:74)'),
        at(`jdk.internal.reflect.GeneratedMethodAccessor${f.number.int({ min: 80, max: 400 })}.invoke(Unknown Source)`),
        at('java.base/java.lang.reflect.Method.invoke(Method.java:580)'),
        at('org.springframework.web.method.support.InvocableHandlerMethod.doInvoke(InvocableHandlerMethod.java:255)'),
        at('org.springframework.web.servlet.mvc.method.annotation.RequestMappingHandlerAdapter.invokeHandlerMethod(RequestMappingHandlerAdapter.java:925)'),
        at('org.springframework.web.servlet.DispatcherServlet.doDispatch(DispatcherServlet.java:1089)'),
        ...springMvcFrames.map(at),
      ],
    };
  },
};

const recommendationKeyError: ErrorScenario = {
  id: 'py-keyerror-recommendation',
  title: 'KeyError in the recommendation refresh job',
  service: serviceByName('search-service'),
  level: 'ERROR',
  generate({ faker: f }) {
    const userId = f.number.int({ min: 1000, max: 999999 });
    return {
      logger: 'recommendations.jobs.refresh',
      thread: 'recommendation-refresh',
      message: `Refresh failed for user_id=${userId} batch=${f.string.alphanumeric(10)} after ${f.number.int({ min: 40, max: 9000 })} ms`,
      trace: [
        'Traceback (most recent call last):',
        ...pyFrame('/app/recommendations/features/store.py', 142, 'load', 'return self._decode(raw)[feature_name]'),
        "KeyError: 'embedding_v2'",
        '',
        'During handling of the above exception, another exception occurred:',
        '',
        'Traceback (most recent call last):',
        ...pyFrame('/app/recommendations/jobs/refresh.py', 88, 'run', 'features = self.feature_store.load(user_id, "embedding_v2")'),
        ...pyFrame('/usr/local/lib/python3.12/site-packages/tenacity/__init__.py', 480, '__call__', 'result = fn(*args, **kwargs)'),
        ...pyFrame('/app/recommendations/features/store.py', 146, 'load', 'raise FeatureMissingError(user_id, feature_name) from None'),
        `recommendations.features.errors.FeatureMissingError: feature 'embedding_v2' missing for user ${userId} (store=redis://${f.internet.ipv4()}:6379/3)`,
      ],
    };
  },
};

const heapOutOfMemory: ErrorScenario = {
  id: 'oom-heap',
  title: 'Java heap space exhausted during export',
  service: serviceByName('user-service'),
  level: 'FATAL',
  generate({ faker: f }) {
    return {
      logger: 'com.acme.users.export.UserExportJob',
      thread: 'scheduling-1',
      message: `Export job ${f.string.uuid()} aborted after ${f.number.int({ min: 100000, max: 4000000 })} rows`,
      trace: [
        'java.lang.OutOfMemoryError: Java heap space',
        at('java.base/java.util.Arrays.copyOf(Arrays.java:3541)'),
        at('java.base/java.lang.AbstractStringBuilder.ensureCapacityInternal(AbstractStringBuilder.java:242)'),
        at('java.base/java.lang.AbstractStringBuilder.append(AbstractStringBuilder.java:587)'),
        at('java.base/java.lang.StringBuilder.append(StringBuilder.java:179)'),
        at('com.fasterxml.jackson.core.util.TextBuffer.contentsAsString(TextBuffer.java:463)'),
        at('com.fasterxml.jackson.databind.ObjectMapper.writeValueAsString(ObjectMapper.java:3964)'),
        at('com.acme.users.export.CsvUserWriter.writeRow(CsvUserWriter.java:77)'),
        at(`com.acme.users.export.UserExportJob.lambda$run$0(UserExportJob.java:58)`),
        at(`com.acme.users.export.UserExportJob$$Lambda/${lambdaSuffix(f)}.accept(Unknown Source)`),
        at('java.base/java.util.stream.ForEachOps$ForEachOp$OfRef.accept(ForEachOps.java:184)'),
        at('java.base/java.util.stream.ReferencePipeline$3$1.accept(ReferencePipeline.java:197)'),
        at('java.base/java.util.Iterator.forEachRemaining(Iterator.java:133)'),
        at('java.base/java.util.stream.AbstractPipeline.copyInto(AbstractPipeline.java:509)'),
        at('java.base/java.util.stream.ReferencePipeline.forEach(ReferencePipeline.java:596)'),
        at('com.acme.users.export.UserExportJob.run(UserExportJob.java:56)'),
        at('org.springframework.scheduling.support.ScheduledMethodRunnable.run(ScheduledMethodRunnable.java:130)'),
        at('java.base/java.util.concurrent.ScheduledThreadPoolExecutor$ScheduledFutureTask.run(ScheduledThreadPoolExecutor.java:304)'),
        at('java.base/java.lang.Thread.run(Thread.java:1583)'),
      ],
    };
  },
};

const downstream503: ErrorScenario = {
  id: 'downstream-503',
  title: 'Downstream inventory service unavailable (503)',
  service: serviceByName('api-gateway'),
  level: 'ERROR',
  generate({ faker: f }) {
    const item = sku(f);
    return {
      logger: 'com.acme.gateway.inventory.InventoryClient',
      thread: `reactor-http-epoll-${f.number.int({ min: 1, max: 4 })}`,
      message: `Stock lookup failed for ${item} from ${f.internet.ipv4()}:${f.internet.port()}`,
      trace: [
        `org.springframework.web.reactive.function.client.WebClientResponseException$ServiceUnavailable: 503 Service Unavailable from GET http://${cluster('inventory-service', 'shop')}:8080/api/v1/stock/${item}`,
        at('org.springframework.web.reactive.function.client.WebClientResponseException.create(WebClientResponseException.java:336)'),
        at('org.springframework.web.reactive.function.client.DefaultClientResponse.lambda$createException$1(DefaultClientResponse.java:214)'),
        '\tSuppressed: reactor.core.publisher.FluxOnAssembly$OnAssemblyException:',
        'Error has been observed at the following site(s):',
        '\t*__checkpoint ⇢ 503 SERVICE_UNAVAILABLE from GET http://inventory-service.shop.svc.cluster.local:8080/api/v1/stock/{sku} [DefaultWebClient]',
        '\t*__checkpoint ⇢ com.acme.gateway.filter.AccessLogFilter [DefaultWebFilterChain]',
        'Original Stack Trace:',
        at('org.springframework.web.reactive.function.client.WebClientResponseException.create(WebClientResponseException.java:336)'),
        at('org.springframework.web.reactive.function.client.DefaultClientResponse.lambda$createException$1(DefaultClientResponse.java:214)'),
        at('reactor.core.publisher.FluxMap$MapSubscriber.onNext(FluxMap.java:106)'),
        at('reactor.core.publisher.FluxOnErrorReturn$ReturnSubscriber.onNext(FluxOnErrorReturn.java:162)'),
        at('reactor.core.publisher.Operators$MonoSubscriber.complete(Operators.java:1840)'),
        at('reactor.core.publisher.MonoFlatMap$FlatMapInner.onNext(MonoFlatMap.java:249)'),
        at('com.acme.gateway.inventory.InventoryClient.lambda$stock$3(InventoryClient.java:91)'),
        at('reactor.netty.channel.FluxReceive.onInboundNext(FluxReceive.java:379)'),
        at('reactor.netty.channel.ChannelOperations.onInboundNext(ChannelOperations.java:425)'),
        at('io.netty.channel.AbstractChannelHandlerContext.invokeChannelRead(AbstractChannelHandlerContext.java:444)'),
        at('io.netty.channel.epoll.AbstractEpollStreamChannel$EpollStreamUnsafe.epollInReady(AbstractEpollStreamChannel.java:801)'),
        at('io.netty.channel.epoll.EpollEventLoop.run(EpollEventLoop.java:407)'),
        at('java.base/java.lang.Thread.run(Thread.java:1583)'),
      ],
    };
  },
};

const inventoryDeadlock: ErrorScenario = {
  id: 'db-deadlock',
  title: 'PostgreSQL deadlock while reserving stock',
  service: serviceByName('inventory-service'),
  level: 'ERROR',
  generate({ faker: f }) {
    const pidA = f.number.int({ min: 1000, max: 65000 });
    const pidB = pidA + f.number.int({ min: 1, max: 40 });
    const txA = f.number.int({ min: 100000, max: 9999999 });
    const txB = txA + f.number.int({ min: 1, max: 500 });
    const detail = `DETAIL:  Process ${pidA} waits for ShareLock on transaction ${txB}; blocked by process ${pidB}.`;
    return {
      logger: 'inventory.services.reservation',
      thread: `ThreadPoolExecutor-0_${f.number.int({ min: 0, max: 7 })}`,
      message: `Reservation ${f.string.uuid()} for ${sku(f)} x${f.number.int({ min: 1, max: 20 })} rolled back`,
      trace: [
        'Traceback (most recent call last):',
        ...pyFrame('/usr/local/lib/python3.12/site-packages/sqlalchemy/engine/base.py', 1967, '_exec_single_context', 'self.dialect.do_execute('),
        ...pyFrame('/usr/local/lib/python3.12/site-packages/sqlalchemy/engine/default.py', 941, 'do_execute', 'cursor.execute(statement, parameters)'),
        'psycopg2.errors.DeadlockDetected: deadlock detected',
        detail,
        '',
        'The above exception was the direct cause of the following exception:',
        '',
        'Traceback (most recent call last):',
        ...pyFrame('/app/inventory/services/reservation.py', 211, 'reserve', 'self._decrement_stock(session, sku, quantity)'),
        ...pyFrame('/app/inventory/services/reservation.py', 247, '_decrement_stock', 'session.execute(DECREMENT_SQL, {"sku": sku, "qty": quantity})'),
        ...pyFrame('/usr/local/lib/python3.12/site-packages/sqlalchemy/orm/session.py', 2362, 'execute', 'return self._execute_internal('),
        `sqlalchemy.exc.OperationalError: (psycopg2.errors.DeadlockDetected) deadlock detected`,
        detail,
        '(Background on this error at: https://sqlalche.me/e/20/e3q8)',
      ],
    };
  },
};

const jwtExpired: ErrorScenario = {
  id: 'jwt-expired',
  title: 'Expired JWT rejected by the auth filter',
  service: serviceByName('user-service'),
  level: 'ERROR',
  generate({ faker: f, nowMs }) {
    const expiredAgo = f.number.int({ min: 1000, max: 86_400_000 });
    const now = new Date(nowMs);
    const exp = new Date(now.getTime() - expiredAgo);
    return {
      logger: 'com.acme.users.security.JwtAuthenticationFilter',
      thread: `http-nio-8080-exec-${f.number.int({ min: 1, max: 200 })}`,
      message: `Rejected token for subject ${f.string.uuid()} from ${f.internet.ipv4()}`,
      trace: [
        `io.jsonwebtoken.ExpiredJwtException: JWT expired ${expiredAgo} milliseconds ago at ${exp.toISOString().replace(/\.\d{3}/, '')}. Current time: ${now.toISOString().replace(/\.\d{3}/, '')}. Allowed clock skew: 0 milliseconds.`,
        at('io.jsonwebtoken.impl.DefaultJwtParser.parse(DefaultJwtParser.java:682)'),
        at('io.jsonwebtoken.impl.DefaultJwtParser.parse(DefaultJwtParser.java:362)'),
        at('io.jsonwebtoken.impl.DefaultJwtParser.parseSignedClaims(DefaultJwtParser.java:836)'),
        at('com.acme.users.security.JwtService.parseClaims(JwtService.java:71)'),
        at('com.acme.users.security.JwtService.authenticate(JwtService.java:52)'),
        at('com.acme.users.security.JwtAuthenticationFilter.doFilterInternal(JwtAuthenticationFilter.java:44)'),
        at('org.springframework.web.filter.OncePerRequestFilter.doFilter(OncePerRequestFilter.java:116)'),
        at('org.springframework.security.web.ObservationFilterChainDecorator$ObservationFilter.wrapFilter(ObservationFilterChainDecorator.java:240)'),
        at('org.springframework.security.web.ObservationFilterChainDecorator$ObservationFilter.doFilter(ObservationFilterChainDecorator.java:227)'),
        at('org.springframework.security.web.ObservationFilterChainDecorator$VirtualFilterChain.doFilter(ObservationFilterChainDecorator.java:137)'),
        at('org.springframework.security.web.FilterChainProxy.doFilterInternal(FilterChainProxy.java:233)'),
        at('org.springframework.security.web.FilterChainProxy.doFilter(FilterChainProxy.java:191)'),
        at('org.springframework.web.filter.DelegatingFilterProxy.invokeDelegate(DelegatingFilterProxy.java:362)'),
        at('org.springframework.web.filter.DelegatingFilterProxy.doFilter(DelegatingFilterProxy.java:278)'),
        ...springMvcFrames.slice(4).map(at),
      ],
    };
  },
};

const smtpRefused: ErrorScenario = {
  id: 'smtp-connection-refused',
  title: 'Notification e-mail delivery failed: SMTP refused',
  service: serviceByName('notification-service'),
  level: 'ERROR',
  generate({ faker: f }) {
    const host = `smtp-relay-${f.number.int({ min: 1, max: 3 })}.mail.svc.cluster.local`;
    return {
      logger: 'notifications.tasks.email',
      thread: `celery-worker-${f.number.int({ min: 1, max: 8 })}`,
      message: `Task notifications.tasks.email.send_order_confirmation[${f.string.uuid()}] failed for ${f.internet.email()}`,
      trace: [
        'Traceback (most recent call last):',
        ...pyFrame('/app/notifications/transport/smtp.py', 63, 'send', 'with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as client:'),
        ...pyFrame('/usr/local/lib/python3.12/smtplib.py', 255, '__init__', '(code, msg) = self.connect(host, port)'),
        ...pyFrame('/usr/local/lib/python3.12/smtplib.py', 341, 'connect', 'self.sock = self._get_socket(host, port, self.timeout)'),
        ...pyFrame('/usr/local/lib/python3.12/socket.py', 852, 'create_connection', 'raise exceptions[0]'),
        'ConnectionRefusedError: [Errno 111] Connection refused',
        '',
        'During handling of the above exception, another exception occurred:',
        '',
        'Traceback (most recent call last):',
        ...pyFrame('/usr/local/lib/python3.12/site-packages/celery/app/trace.py', 453, 'trace_task', 'R = retval = fun(*args, **kwargs)'),
        ...pyFrame('/app/notifications/tasks/email.py', 41, 'send_order_confirmation', 'transport.send(message)'),
        ...pyFrame('/app/notifications/transport/smtp.py', 71, 'send', 'raise DeliveryError(f"SMTP {self.host}:{self.port} unreachable") from exc'),
        `notifications.transport.errors.DeliveryError: SMTP ${host}:587 unreachable`,
      ],
    };
  },
};

export const ERROR_SCENARIOS: readonly ErrorScenario[] = [
  dbPoolExhausted,
  paymentGatewayTimeout,
  npeOrderValidation,
  recommendationKeyError,
  heapOutOfMemory,
  downstream503,
  inventoryDeadlock,
  jwtExpired,
  smtpRefused,
];

export function scenarioById(id: string): ErrorScenario | undefined {
  return ERROR_SCENARIOS.find((s) => s.id === id);
}
