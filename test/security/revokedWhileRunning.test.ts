/**
 * A key revoked while a worker runs: the worker checked its key at start, but it signs only with a key
 * an admin still trusts. The run stops before anything is signed, the refusal is audited, and no
 * manifest, signature or card reaches S3.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactKeys } from '../../registry/artifactKeys';
import { loadOrCreateSigningKey } from '../../lifecycle/signing';
import { auditTrail, listVersions, revokeSigningKey } from '../../registry';
import { createLifecycleTestbed, type LifecycleTestbed, runFailureOf } from '../lifecycleTestbed';

let bed: LifecycleTestbed;

beforeAll(async () => (bed = await createLifecycleTestbed('revoked_running')));
afterAll(() => bed.close());

describe('a signing key revoked after the worker started', () => {
  it('is not used to sign: the run stops at packaging, audited, with no manifest in S3', async () => {
    const spec = await bed.spec('cut-time.json', { trainer: { params: { iterations: 120 } } });
    const key = await loadOrCreateSigningKey(bed.config.signing);
    const handle = await bed.start(spec, { approvalDeadlineMs: 600_000 });
    // The worker is already running with the key it checked at start; the admin revokes it now (as
    // `kerf keys revoke` does, on the owner role's connection: the application role may only read keys).
    await revokeSigningKey(bed.db.ownerPool, { keyId: key.keyId, actor: 'admin', reason: 'leaked' });

    const cause = await runFailureOf(handle.result());
    expect(cause).toMatchObject({ type: 'RegistryError', nonRetryable: true });
    expect(cause.message).toBe(
      `${spec.name} v1 was not signed: this worker's signing key ${key.keyId} is revoked; restart the workers with a key an admin trusted (\`kerf keys trust FILE --name NAME\`) and run again`,
    );

    const keys = artifactKeys(spec.name, 1);
    const stored = (await bed.store.list(`models/${spec.name}/`)).map((object) => object.key);
    for (const never of [keys.manifest, keys.signature, keys.card]) expect(stored).not.toContain(never);
    const refused = (await auditTrail(bed.db.pool, spec.name)).filter(
      (entry) => entry.action === 'signing-refused',
    );
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ version: 1, details: { keyId: key.keyId, trust: 'revoked' } });
    // The version is not a candidate anyone could approve.
    expect((await listVersions(bed.db.pool, spec.name)).map((version) => version.status)).toEqual(['failed']);
    for (const object of await bed.store.list(`models/${spec.name}/`)) await bed.store.delete(object.key);
  });
});
