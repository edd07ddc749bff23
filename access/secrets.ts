/**
 * The secrets of people and API clients: random keys, tokens and one-time decision codes with an id
 * prefix (lookup by id, so scrypt runs once per attempt), stored as scrypt hashes with their salt and
 * parameters, and compared in constant time. Pure code: no database, no Temporal.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/** What a secret is for; the prefix says it at a glance (and in a leaked log, to whom to revoke it). */
export type SecretKind = 'user-key' | 'service-token' | 'decision-code';

interface SecretShape {
  prefix: string;
  idLength: number;
  secretLength: number;
}

/** Lower-case RFC 4648 base32: no characters that need quoting in a shell, a URL or JSON. */
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

const SHAPES: Record<SecretKind, SecretShape> = {
  // 52 base32 characters: 260 bits.
  'user-key': { prefix: 'kk', idLength: 10, secretLength: 52 },
  'service-token': { prefix: 'kt', idLength: 10, secretLength: 52 },
  // Short enough to paste into the Web UI; one use, an expiry and a lock after 5 wrong tries.
  'decision-code': { prefix: 'kc', idLength: 8, secretLength: 20 },
};

/** A secret as handed to its owner once, and what is stored of it. */
export interface IssuedSecret {
  /** The whole secret, `<prefix>_<id>_<secret>`: shown once, never stored. */
  text: string;
  /** The lookup id, stored clear. */
  id: string;
  /** `scrypt:N:r:p:salt:hash`, stored. */
  hash: string;
}

/** The parts of a presented secret; undefined when it does not have the kind's shape. */
export interface PresentedSecret {
  id: string;
  secret: string;
}

/**
 * scrypt's cost: N = 2^14, r = 8, p = 1 (16 MiB, tens of milliseconds): slow enough that a stolen
 * table cannot be searched, fast enough for one check per attempt.
 */
export const SCRYPT_DEFAULTS = { N: 16384, r: 8, p: 1, keyLength: 32, saltLength: 16 } as const;

/** Parameters a stored hash may carry: bounded so a tampered row cannot make a check take forever. */
const MAX_N = 1 << 20;

function randomBase32(length: number): string {
  const bytes = randomBytes(length);
  let text = '';
  for (const byte of bytes) text += BASE32.charAt(byte & 31);
  return text;
}

function scryptHash(secret: string, salt: Buffer, N: number, r: number, p: number, keyLength: number) {
  return new Promise<Buffer>((resolve, reject) => {
    scrypt(secret, salt, keyLength, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (error, key) => {
      if (error) reject(error);
      else resolve(key);
    });
  });
}

/** Hashes a secret with scrypt under a fresh salt; the result carries its parameters. */
export async function hashSecret(secret: string): Promise<string> {
  const { N, r, p, keyLength, saltLength } = SCRYPT_DEFAULTS;
  const salt = randomBytes(saltLength);
  const key = await scryptHash(secret, salt, N, r, p, keyLength);
  return `scrypt:${N}:${r}:${p}:${salt.toString('base64url')}:${key.toString('base64url')}`;
}

/**
 * Whether `secret` is the one `stored` was made from. A malformed stored hash verifies nothing.
 * Compared with `timingSafeEqual`.
 */
export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split(':');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const salt = Buffer.from(parts[4] ?? '', 'base64url');
  const expected = Buffer.from(parts[5] ?? '', 'base64url');
  const sane =
    Number.isSafeInteger(N) &&
    N > 1 &&
    N <= MAX_N &&
    (N & (N - 1)) === 0 &&
    r >= 1 &&
    r <= 32 &&
    p >= 1 &&
    p <= 4;
  if (!sane || salt.length < 8 || expected.length < 16) return false;
  const key = await scryptHash(secret, salt, N, r, p, expected.length);
  return timingSafeEqual(key, expected);
}

/** A new secret of a kind: the text to hand out once, its id and its hash to store. */
export async function issueSecret(kind: SecretKind): Promise<IssuedSecret> {
  const shape = SHAPES[kind];
  const id = randomBase32(shape.idLength);
  const secret = randomBase32(shape.secretLength);
  return { text: `${shape.prefix}_${id}_${secret}`, id, hash: await hashSecret(secret) };
}

/**
 * Splits a presented secret of a kind into id and secret; undefined for anything else (wrong
 * prefix, length or alphabet, not a string). Never throws: the caller decides what to say.
 */
export function parseSecret(kind: SecretKind, presented: unknown): PresentedSecret | undefined {
  if (typeof presented !== 'string') return undefined;
  const shape = SHAPES[kind];
  const expectedLength = shape.prefix.length + shape.idLength + shape.secretLength + 2;
  if (presented.length !== expectedLength) return undefined;
  const pattern = new RegExp(
    `^${shape.prefix}_([a-z2-7]{${shape.idLength}})_([a-z2-7]{${shape.secretLength}})$`,
  );
  const match = pattern.exec(presented);
  if (!match?.[1] || !match[2]) return undefined;
  return { id: match[1], secret: match[2] };
}

/** What a secret of a kind looks like, for messages: `kc_xxxxxxxx_...`. */
export function secretExample(kind: SecretKind): string {
  const shape = SHAPES[kind];
  return `${shape.prefix}_${'x'.repeat(shape.idLength)}_...`;
}
