/** What activities need from the worker that runs them; tests hand in their own. */
import type pg from 'pg';
import type { SigningKey } from '../lifecycle/signing';
import type { ObjectStore } from '../platform/objectStore';

export interface ActivityDeps {
  pool: pg.Pool;
  objectStore: ObjectStore;
  /** The key model manifests are signed with; its public half is recorded in the registry. */
  signingKey: SigningKey;
  /** The code that trains, recorded with every version: a git commit or the package version. */
  codeVersion: string;
}
