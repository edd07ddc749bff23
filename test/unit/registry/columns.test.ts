import { describe, expect, it } from 'vitest';
import { TableColumns } from '../../../registry/columns';

interface KeyRow {
  key_id: string;
  public_key_pem: string;
  revoked_at: Date | null;
}

describe('TableColumns', () => {
  const columns = new TableColumns<KeyRow>(['key_id', 'public_key_pem', 'revoked_at']);

  it('lists the columns for SQL in the given order', () => {
    expect(columns.sql).toBe('key_id, public_key_pem, revoked_at');
  });

  it('turns a row into its camelCase record, in column order, leaving other columns out', () => {
    const row = { key_id: 'k1', secret_hash: 'x', public_key_pem: 'pem', revoked_at: null };
    const record = columns.record(row);
    expect(record).toEqual({ keyId: 'k1', publicKeyPem: 'pem', revokedAt: null });
    expect(Object.keys(record)).toEqual(['keyId', 'publicKeyPem', 'revokedAt']);
  });
});
