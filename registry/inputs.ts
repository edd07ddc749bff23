/** Checks of the names and numbers handed to the registry, each refusing with the field and the expected form. */
import { RegistryError } from './errors';

/** The pipeline spec's rule for names: kebab-case, at most 63 characters. */
const MODEL_NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const MAX_MODEL_NAME = 63;
/** Hashes and keys are opaque to the registry, but never blank, never with spaces, never huge. */
const TOKEN = /^\S{1,512}$/;

export function checkModelName(name: string, field = 'model'): void {
  if (!MODEL_NAME.test(name) || name.length > MAX_MODEL_NAME) {
    throw new RegistryError(
      'invalid-input',
      `${field} ${JSON.stringify(name)} is not a model name: use the pipeline's kebab-case name ` +
        '(lower-case letters and digits joined by "-", at most 63 characters), e.g. steel-energy',
    );
  }
}

export function checkVersionNumber(version: number, field = 'version'): void {
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new RegistryError(
      'invalid-input',
      `${field} ${String(version)} is not a version number: versions are whole numbers from 1`,
    );
  }
}

/** A hash, run id, object key or key id: non-empty, no white space, at most 512 characters. */
export function checkToken(value: string, field: string): void {
  if (!TOKEN.test(value)) {
    throw new RegistryError(
      'invalid-input',
      `${field} ${JSON.stringify(value.slice(0, 80))} is not usable: give a non-empty value without spaces, ` +
        'at most 512 characters (a content hash, a workflow id or an object key)',
    );
  }
}

/** A person's or a process's name, or a reason: some visible text. */
export function checkText(value: string, field: string, example: string): void {
  if (value.trim() === '') {
    throw new RegistryError('invalid-input', `${field} is empty: say ${example}`);
  }
}
