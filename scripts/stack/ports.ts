/** Checks that the ports the embedded stack needs are free before anything starts. */
import net from 'node:net';

export class PortTakenError extends Error {
  constructor(
    readonly port: number,
    readonly purpose: string,
    readonly variable: string,
  ) {
    super(
      `Port ${port} (${purpose}) is already in use by another program. ` +
        `Stop that program (find it with: ss -ltnp 'sport = :${port}') or choose another port with ${variable}=<port>.`,
    );
    this.name = 'PortTakenError';
  }
}

/** Resolves when nothing listens on `host:port`; rejects with `PortTakenError` otherwise. */
export async function assertPortFree(
  port: number,
  purpose: string,
  variable: string,
  host = '127.0.0.1',
): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'EADDRINUSE' ? new PortTakenError(port, purpose, variable) : error);
    });
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve()));
  });
}
