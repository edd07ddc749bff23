import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../platform/config';
import { s3ClientConfig } from '../../../platform/objectStore';

const paths = { dataDir: '/srv/kerf/.data', toolsDir: '/srv/kerf/.tools' };
const secrets = (name: string) => `generated-${name}`;
const clientConfigOf = (env: Record<string, string>) => s3ClientConfig(loadConfig(env, paths, secrets).s3);

describe('s3ClientConfig', () => {
  it('gives the embedded store its generated keys, path style and lenient checksums', () => {
    expect(clientConfigOf({})).toEqual({
      endpoint: 'http://127.0.0.1:7070',
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: {
        accessKeyId: 'generated-s3-access-key-id',
        secretAccessKey: 'generated-s3-secret-access-key',
      },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  });

  it('gives an S3-compatible store its static keys', () => {
    expect(
      clientConfigOf({
        S3_ENDPOINT: 'https://minio.internal:9000',
        S3_ACCESS_KEY_ID: 'k',
        S3_SECRET_ACCESS_KEY: 's',
      }),
    ).toMatchObject({
      endpoint: 'https://minio.internal:9000',
      credentials: { accessKeyId: 'k', secretAccessKey: 's' },
    });
  });

  it('leaves endpoint and credentials to the AWS SDK for S3_ENDPOINT=aws without keys', () => {
    const options = clientConfigOf({ S3_ENDPOINT: 'aws', S3_REGION: 'eu-central-1' });
    expect(options).toEqual({ region: 'eu-central-1', forcePathStyle: false });
    // No key at all, so the SDK's default chain (AWS_* variables, profile, instance role) is asked.
    expect('credentials' in options).toBe(false);
    expect('endpoint' in options).toBe(false);
  });

  it('lets the SDK read the region from the profile when none is configured', () => {
    expect('region' in clientConfigOf({ S3_ENDPOINT: 'aws' })).toBe(false);
  });

  it('still takes static keys on AWS S3', () => {
    expect(
      clientConfigOf({
        S3_ENDPOINT: 'aws',
        AWS_REGION: 'us-east-2',
        S3_ACCESS_KEY_ID: 'AKIA',
        S3_SECRET_ACCESS_KEY: 's',
      }),
    ).toEqual({
      region: 'us-east-2',
      forcePathStyle: false,
      credentials: { accessKeyId: 'AKIA', secretAccessKey: 's' },
    });
  });
});
