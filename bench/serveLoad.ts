/**
 * The `serve` bench's load generator, run as a process of its own so it never shares an event loop
 * with the server it measures. It speaks HTTP/1.1 over keep-alive sockets itself (one prepared
 * request, a response parser that reads the status and Content-Length only), so the client costs
 * as little as it can and the server is what is measured.
 *
 * - `closed`: every connection sends its next request as soon as the previous answer arrived
 *   (saturation); latency is from sending to the whole answer.
 * - `open`: requests are scheduled at a constant rate whatever the server does, and latency is
 *   measured from each request's scheduled time (no coordinated omission): a request that waits
 *   for a free connection, or behind a late timer, counts that wait.
 *
 * Input: one JSON argument ({@link LoadPlan}); output: one JSON line ({@link LoadResult}).
 */
import net from 'node:net';

export interface LoadPlan {
  host: string;
  port: number;
  method: 'POST' | 'GET';
  path: string;
  headers: Record<string, string>;
  body: string;
  connections: number;
  mode: 'closed' | 'open';
  /** Requests per second (open loop only). */
  rate?: number;
  warmupSeconds: number;
  seconds: number;
}

export interface LoadResult {
  /** Answers completed in the measured window. */
  requests: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** Answers with a status other than 200, in the measured window. */
  errors: number;
  statuses: Record<string, number>;
  /** Open loop: requests scheduled in the window that had not been answered 10 s after it. */
  unanswered: number;
  /** The generator's own CPU time per answer in the window, in microseconds (user and system). */
  clientCpuUsPerRequest: number;
}

interface Pending {
  /** The time latency is measured from: the send (closed) or the scheduled time (open). */
  from: number;
  measured: boolean;
}

const CRLF2 = Buffer.from('\r\n\r\n');

/** One keep-alive connection with at most one request in flight. */
class Connection {
  private readonly socket: net.Socket;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private current: Pending | undefined;
  readonly ready: Promise<void>;

  constructor(
    plan: LoadPlan,
    private readonly request: Buffer,
    private readonly onAnswer: (connection: Connection, pending: Pending, status: number) => void,
  ) {
    this.socket = net.connect({ host: plan.host, port: plan.port, noDelay: true });
    this.ready = new Promise((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('error', reject);
    });
    this.socket.on('data', (chunk: Buffer) => this.receive(chunk));
    this.socket.on('error', (error) => {
      console.error(`serve load: connection failed: ${error.message}`);
      process.exit(1);
    });
  }

  get busy(): boolean {
    return this.current !== undefined;
  }

  send(pending: Pending): void {
    this.current = pending;
    this.socket.write(this.request);
  }

  close(): void {
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const data = this.chunks.length === 1 ? chunk : Buffer.concat(this.chunks, this.buffered);
    const headerEnd = data.indexOf(CRLF2);
    if (headerEnd < 0) return this.keep(data);
    const head = data.toString('latin1', 0, headerEnd);
    const match = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (!match) {
      console.error(`serve load: an answer without Content-Length: ${head}`);
      process.exit(1);
    }
    const total = headerEnd + 4 + Number(match[1]);
    if (data.length < total) return this.keep(data);
    // One request in flight per connection: nothing can follow the answer.
    this.chunks = [];
    this.buffered = 0;
    const status = Number(head.slice(9, 12));
    const pending = this.current as Pending;
    this.current = undefined;
    this.onAnswer(this, pending, status);
  }

  private keep(data: Buffer): void {
    this.chunks = [data];
    this.buffered = data.length;
  }
}

/** The `q` quantile of sorted latencies, in milliseconds. */
function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
}

const round3 = (value: number) => Number(value.toFixed(3));

export async function runLoad(plan: LoadPlan): Promise<LoadResult> {
  const body = Buffer.from(plan.body, 'utf8');
  const headerLines = Object.entries({
    host: `${plan.host}:${plan.port}`,
    ...plan.headers,
    ...(plan.method === 'POST' ? { 'content-length': String(body.length) } : {}),
  }).map(([name, value]) => `${name}: ${value}\r\n`);
  const request = Buffer.concat([
    Buffer.from(`${plan.method} ${plan.path} HTTP/1.1\r\n${headerLines.join('')}\r\n`, 'latin1'),
    ...(plan.method === 'POST' ? [body] : []),
  ]);

  let latencies = new Float64Array(1 << 16);
  let recorded = 0;
  let errors = 0;
  const statuses: Record<string, number> = {};
  let measureStart = Number.POSITIVE_INFINITY;
  let measureEnd = Number.POSITIVE_INFINITY;
  let stopped = false;
  const queue: Pending[] = [];
  let outstanding = 0;
  let settle: (() => void) | undefined;

  const record = (pending: Pending, status: number, now: number): void => {
    if (!pending.measured || now > measureEnd) return;
    if (recorded === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[recorded++] = now - pending.from;
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (status !== 200) errors += 1;
  };

  const onAnswer = (connection: Connection, pending: Pending, status: number): void => {
    const now = performance.now();
    outstanding -= 1;
    if (plan.mode === 'closed') {
      if (now >= measureStart) record(pending, status, now);
      if (!stopped) {
        outstanding += 1;
        connection.send({ from: performance.now(), measured: performance.now() >= measureStart });
      }
    } else {
      record(pending, status, now);
      const next = queue.shift();
      if (next) {
        outstanding += 1;
        connection.send(next);
      }
    }
    if (stopped && outstanding === 0 && queue.length === 0) settle?.();
  };

  const connections = Array.from({ length: plan.connections }, () => new Connection(plan, request, onAnswer));
  await Promise.all(connections.map((connection) => connection.ready));

  const started = performance.now();
  measureStart = started + plan.warmupSeconds * 1000;
  measureEnd = measureStart + plan.seconds * 1000;
  let cpuAtStart: NodeJS.CpuUsage | undefined;
  let cpuInWindow: NodeJS.CpuUsage | undefined;
  setTimeout(() => (cpuAtStart = process.cpuUsage()), measureStart - performance.now());
  setTimeout(() => (cpuInWindow = process.cpuUsage(cpuAtStart)), measureEnd - performance.now());

  if (plan.mode === 'closed') {
    for (const connection of connections) {
      outstanding += 1;
      connection.send({ from: performance.now(), measured: false });
    }
    await new Promise((resolve) => setTimeout(resolve, measureEnd - performance.now()));
    stopped = true;
  } else {
    const rate = plan.rate ?? 0;
    if (!(rate > 0)) throw new Error('an open-loop plan needs a rate above 0');
    const interval = 1000 / rate;
    let sent = 0;
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const now = performance.now();
        for (;;) {
          const scheduled = started + sent * interval;
          if (scheduled > now) break;
          if (scheduled >= measureEnd) return resolve();
          sent += 1;
          const pending = { from: scheduled, measured: scheduled >= measureStart };
          const idle = connections.find((connection) => !connection.busy);
          if (idle) {
            outstanding += 1;
            idle.send(pending);
          } else {
            queue.push(pending);
          }
        }
        setTimeout(tick, Math.max(0, started + sent * interval - performance.now()));
      };
      tick();
    });
    stopped = true;
  }
  // The answers still on their way, at most 10 s more.
  let unanswered = 0;
  if (outstanding > 0 || queue.length > 0) {
    await Promise.race([
      new Promise<void>((resolve) => (settle = resolve)),
      new Promise((resolve) => setTimeout(resolve, 10_000)),
    ]);
    unanswered = plan.mode === 'open' ? outstanding + queue.length : 0;
  }
  for (const connection of connections) connection.close();

  // The end-of-window timer may come after the last answers (a busy loop): then it is now.
  const windowCpu = cpuInWindow ?? process.cpuUsage(cpuAtStart);
  const sorted = latencies.slice(0, recorded).sort();
  return {
    requests: recorded,
    reqPerSec: Math.round(recorded / plan.seconds),
    p50Ms: round3(quantile(sorted, 0.5)),
    p99Ms: round3(quantile(sorted, 0.99)),
    p999Ms: round3(quantile(sorted, 0.999)),
    maxMs: round3(sorted.length > 0 ? (sorted[sorted.length - 1] as number) : Number.NaN),
    errors,
    statuses,
    unanswered,
    clientCpuUsPerRequest: Math.round((windowCpu.user + windowCpu.system) / Math.max(1, recorded)),
  };
}

if (process.argv[1]?.endsWith('serveLoad.ts') && process.argv[2]) {
  runLoad(JSON.parse(process.argv[2]) as LoadPlan)
    .then((result) => console.log(JSON.stringify(result)))
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
