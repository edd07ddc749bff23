import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { assertPortFree, PortTakenError } from '../../../../scripts/stack/ports';
import { freePort } from '../../../helpers';

describe('assertPortFree', () => {
  it('passes for a free port', async () => {
    await expect(
      assertPortFree(await freePort(), 'Temporal frontend', 'KERF_TEMPORAL_PORT'),
    ).resolves.toBeUndefined();
  });

  it('names the port, what needed it and how to choose another when it is taken', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const failure = assertPortFree(port, 'Temporal Web UI', 'KERF_TEMPORAL_UI_PORT');
      await expect(failure).rejects.toBeInstanceOf(PortTakenError);
      await expect(failure).rejects.toThrow(
        new RegExp(`Port ${port} \\(Temporal Web UI\\) is already in use.*KERF_TEMPORAL_UI_PORT=<port>`),
      );
    } finally {
      server.close();
    }
  });
});
