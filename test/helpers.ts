/** Shared pieces for tests against the real stack. */
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { loadConfig, type KerfConfig } from '../platform/config';
import { defaultPaths } from '../platform/paths';

/** The configuration of the shared test stack (the same environment the global setup used). */
export function testConfig(overrides: Record<string, string> = {}): KerfConfig {
  return loadConfig({ ...process.env, ...overrides }, defaultPaths);
}

/** A name no other test uses, safe for task queues, workflow ids, S3 prefixes and SQL identifiers. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
}

/** A TCP port nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
