/**
 * Reading a PEM file a setting names (Temporal's TLS files, PostgreSQL's sslrootcert/sslcert/sslkey):
 * the bytes, or why they cannot be used. Callers word the error, naming their setting; none quotes
 * the contents, which may be a private key.
 */

/** Reads a file's bytes; tests hand in their own. */
export type FileReader = (path: string) => Buffer;

export type PemFile =
  | { ok: true; bytes: Buffer }
  /** `reason`: `no such file`, `permission denied`, or the error code. */
  | { ok: false; problem: 'unreadable'; reason: string }
  /** No `-----BEGIN <label>-----` ... `-----END <label>-----` block whose label matches. */
  | { ok: false; problem: 'not-pem' };

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/;

/** Reads `file` and checks that it holds a PEM block whose label matches `expected`. */
export function readPemFile(file: string, expected: RegExp, readFile: FileReader): PemFile {
  let bytes: Buffer;
  try {
    bytes = readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (code ?? 'unreadable');
    return { ok: false, problem: 'unreadable', reason };
  }
  const block = PEM_BLOCK.exec(bytes.toString('latin1'));
  if (!block?.[1] || !expected.test(block[1])) return { ok: false, problem: 'not-pem' };
  return { ok: true, bytes };
}
