/** What activities need from the worker that runs them; tests hand in their own. */
import type pg from 'pg';
import type { ObjectStore } from '../platform/objectStore';

export interface ActivityDeps {
  pool: pg.Pool;
  objectStore: ObjectStore;
}
