/**
 * Finds feature columns that look like personal data: by their name (e-mail, phone, a person's name,
 * address, birth date, bank or government identifiers) and by their values (e-mail addresses, phone
 * numbers, IBANs). A model must not learn from who a customer or an operator is, and a categorical
 * column's categories are written into the ONNX graph, so personal values would ship with the model.
 *
 * The name rule, on the column name split into lower-case words (snake_case, camelCase, kebab-case,
 * spaces and dots all split; `eMail`, `e_mail` and `email` are the same):
 * - a word (or two adjacent words written together) from {@link PERSONAL_WORDS} is personal data:
 *   `email`, `phone_number`, `mobile`, `surname`, `street`, `date_of_birth`, `iban`, `ssn`, `contact`...
 * - the word `name` is a person's name when it stands alone (`name`, `Name`, `name_2`), when a name
 *   part ({@link NAME_PART_WORDS}) is right beside it (`first_name`, `name_last`, `nickName`), or when
 *   another word of the column is a person ({@link PERSON_WORDS}): `operator_name`, `customerName`,
 *   `approver-full-name`. Otherwise it names a thing: `material_name`, `machine_name`, `file_name`,
 *   `part_name`. Unknown qualifiers count as things, so `welder_name` is not caught by its name:
 *   that keeps shop vocabulary free of false alarms, and the value check still catches e-mail
 *   addresses and phone numbers in any column.
 * - `customer`, `operator` or `machine` alone are not personal: `customer_size`, `operator_shift`.
 */

/** A feature column as the gates see it: its name, kind and, optionally, some of its values. */
export interface FeatureSample {
  name: string;
  kind: 'numeric' | 'categorical';
  /**
   * Values of a categorical column (its categories or a sample of rows); missing values may be
   * null or undefined and are ignored. Numeric columns are judged by name only.
   */
  sampleValues?: readonly (string | null | undefined)[];
}

/** What kind of personal data a column seems to hold. */
export type PersonalDataKind =
  'email' | 'phone' | 'person-name' | 'address' | 'birth-date' | 'bank-account' | 'government-id' | 'contact';

/** One column that looks like personal data, and why. */
export interface PersonalDataProblem {
  column: string;
  kind: PersonalDataKind;
  /** Whether the column's name or its values gave it away. */
  basis: 'column-name' | 'values';
  /** One sentence naming the column, the evidence and what to do. */
  message: string;
}

/** Options of {@link personalDataProblems}. */
export interface PersonalDataOptions {
  /**
   * Share of a categorical column's non-missing values that must look like e-mail addresses, phone
   * numbers or IBANs for the column to be refused. Small, so a column of mostly codes with a few
   * addresses is still caught, but above the odd part number that happens to look like a phone number.
   * @default 0.05
   */
  valueShareThreshold?: number;
}

/** Words (lower case) that make a column personal data wherever they appear in its name. */
export const PERSONAL_WORDS: ReadonlyMap<string, PersonalDataKind> = new Map([
  ...words('email', ['email', 'emailaddress', 'mail', 'mailaddress']),
  ...words('phone', ['phone', 'telephone', 'tel', 'mobile', 'cellphone', 'fax', 'telefon']),
  ...words('person-name', [
    'surname',
    'firstname',
    'lastname',
    'fullname',
    'forename',
    'givenname',
    'familyname',
    'middlename',
    'maidenname',
    'nickname',
    'username',
    'vorname',
    'nachname',
  ]),
  ...words('address', [
    'address',
    'addr',
    'street',
    'streetname',
    'postcode',
    'postalcode',
    'zipcode',
    'zip',
    'adresse',
    'anschrift',
    'strasse',
    'straße',
  ]),
  ...words('birth-date', ['birth', 'birthday', 'birthdate', 'dob', 'dateofbirth', 'geburtsdatum']),
  ...words('bank-account', ['iban', 'bankaccount', 'creditcard']),
  ...words('government-id', [
    'ssn',
    'socialsecurity',
    'passport',
    'passportnumber',
    'nationalid',
    'taxid',
    'driverslicense',
    'licenseplate',
  ]),
  ...words('contact', ['contact', 'contactperson']),
]);

/** Words that make `name` a person's name when written right before or after it: `first_name`, `name_last`. */
export const NAME_PART_WORDS: ReadonlySet<string> = new Set([
  'first',
  'last',
  'full',
  'given',
  'family',
  'middle',
  'maiden',
  'nick',
  'sur',
  'fore',
  'user',
]);

/** People in a shop: `name` anywhere in a column with one of these is a person's name (`operator_shift_name`). */
export const PERSON_WORDS: ReadonlySet<string> = new Set([
  'person',
  'people',
  'customer',
  'client',
  'contact',
  'operator',
  'employee',
  'worker',
  'staff',
  'owner',
  'buyer',
  'driver',
  'approver',
  'author',
  'manager',
  'supervisor',
  'inspector',
  'technician',
  'engineer',
  'recipient',
  'sender',
  'requester',
  'creator',
  'planner',
  'salesperson',
  'rep',
  'mitarbeiter',
  'kunde',
]);

const NAME_WORDS = new Set(['name', 'names']);

function words(kind: PersonalDataKind, list: readonly string[]): [string, PersonalDataKind][] {
  return list.map((word) => [word, kind]);
}

/**
 * Every feature column that looks like personal data, in feature order; a column is listed once for
 * its name and once more for its values when both give it away.
 */
export function personalDataProblems(
  features: readonly FeatureSample[],
  options: PersonalDataOptions = {},
): PersonalDataProblem[] {
  const threshold = options.valueShareThreshold ?? 0.05;
  if (!(threshold > 0 && threshold <= 1)) {
    throw new Error(`valueShareThreshold must be in (0, 1]; got ${threshold}`);
  }
  const problems: PersonalDataProblem[] = [];
  for (const feature of features) {
    const byName = personalKindOfName(feature.name);
    if (byName) {
      problems.push({
        column: feature.name,
        kind: byName.kind,
        basis: 'column-name',
        message: `Feature "${feature.name}" looks like personal data (${describeKind(byName.kind)}) by its name ("${byName.word}"); drop it from the features, or rename it if it holds no personal data.`,
      });
    }
    if (feature.kind === 'categorical' && feature.sampleValues) {
      const byValues = personalKindOfValues(feature.sampleValues, threshold);
      if (byValues) {
        problems.push({
          column: feature.name,
          kind: byValues.kind,
          basis: 'values',
          message: `Feature "${feature.name}" holds personal data: ${byValues.matches} of ${byValues.total} values (${percent(byValues.matches / byValues.total)}) look like ${describeKind(byValues.kind)}, e.g. "${mask(byValues.example)}" (threshold ${percent(threshold)}); drop the column or clean its values.`,
        });
      }
    }
  }
  return problems;
}

/**
 * The kind of personal data a column name suggests and the word that suggests it, or undefined when
 * the name looks harmless. See the module comment for the rule.
 */
export function personalKindOfName(column: string): { kind: PersonalDataKind; word: string } | undefined {
  const tokens = splitWords(column);
  // Single words, then adjacent pairs written together (`e_mail`, `first_name`, `social_security`).
  const pairs = tokens.slice(1).map((word, i) => `${tokens[i] ?? ''}${word}`);
  for (const candidate of [...tokens, ...pairs]) {
    const kind = PERSONAL_WORDS.get(candidate);
    if (kind) return { kind, word: candidate };
  }
  const person = tokens.find((word) => PERSON_WORDS.has(word));
  for (const [i, token] of tokens.entries()) {
    if (NAME_WORDS.has(token)) {
      const alone = tokens.every((word, j) => j === i || /^\p{N}+$/u.test(word));
      const beside = [tokens[i - 1], tokens[i + 1]].some(
        (word) => word !== undefined && NAME_PART_WORDS.has(word),
      );
      if (alone || beside || person !== undefined) {
        return { kind: 'person-name', word: tokens.join('_') };
      }
    }
    // Written together: `customername`, `operatorname`.
    const stem = token.endsWith('name') ? token.slice(0, -'name'.length) : '';
    if (PERSON_WORDS.has(stem) || NAME_PART_WORDS.has(stem)) return { kind: 'person-name', word: token };
  }
  return undefined;
}

/** Lower-case words of a column name: `operatorName`, `operator_name`, `Operator-Name` → operator, name. */
export function splitWords(column: string): string[] {
  return (
    column
      // camelCase and PascalCase boundaries (`IBANNumber` → IBAN Number), and digits apart from letters.
      .replace(/(?<=\p{Ll})(?=\p{Lu})|(?<=\p{Lu})(?=\p{Lu}\p{Ll})/gu, ' ')
      .replace(/(?<=\p{L})(?=\p{N})|(?<=\p{N})(?=\p{L})/gu, ' ')
      .toLowerCase()
      .split(/[^\p{L}\p{N}]+/u)
      .filter((word) => word !== '')
  );
}

const EMAIL = /^[^\s@]+@[^\s@]+\.\p{L}{2,}$/u;
/** International form: +49 711 1234567, +4971112345, 0049 711 1234567 (00 and a country code, then a separator). */
const PHONE_INTERNATIONAL = /^(\+\d|00[1-9]\d{0,3}[\s()./-])[\d\s()./-]*\d$/;
/** National form, an area code then a separator: 0711 1234567, (0711) 123-456, 0171/1234567. */
const PHONE_NATIONAL = /^(\(0\d{1,5}\)|0\d{1,5})[\s/.-]\s*\d[\d\s.-]*\d$/;
/** Dates such as 01.02.2024 or 2024-02-01 have the shape of a national phone number. */
const DATE = /^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}$/;
const IBAN = /^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/;

/** Whether a value looks like an e-mail address. */
export function looksLikeEmail(value: string): boolean {
  return EMAIL.test(value.trim());
}

/**
 * Whether a value looks like a phone number: 7 to 15 digits in an international form (`+49...`, or
 * `0049 ...` with a separator) or a national form (an area code starting with 0, then a separator).
 * Bare digit strings are not phone numbers here, so zero-padded article numbers (`0001234567`) and
 * dates pass; a part number written like `0815-4711` does look like one, which is why columns are
 * judged on the share of such values, not on one.
 */
export function looksLikePhone(value: string): boolean {
  const trimmed = value.trim();
  const digits = trimmed.replace(/\D/g, '').length;
  if (digits < 7 || digits > 15 || DATE.test(trimmed)) return false;
  return PHONE_INTERNATIONAL.test(trimmed) || PHONE_NATIONAL.test(trimmed);
}

/** Whether a value is an IBAN with a valid check sum (spaces allowed). */
export function looksLikeIban(value: string): boolean {
  const compact = value.replace(/\s/g, '').toUpperCase();
  if (!IBAN.test(compact)) return false;
  // ISO 13616: move the first four characters to the end, letters to 10..35, remainder mod 97 is 1.
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  let remainder = 0;
  for (const char of rearranged) {
    const digits = /\d/.test(char) ? char : String(char.charCodeAt(0) - 55);
    for (const digit of digits) remainder = (remainder * 10 + Number(digit)) % 97;
  }
  return remainder === 1;
}

const VALUE_CHECKS: readonly { kind: PersonalDataKind; test: (value: string) => boolean }[] = [
  { kind: 'email', test: looksLikeEmail },
  { kind: 'bank-account', test: looksLikeIban },
  { kind: 'phone', test: looksLikePhone },
];

function personalKindOfValues(
  values: readonly (string | null | undefined)[],
  threshold: number,
): { kind: PersonalDataKind; matches: number; total: number; example: string } | undefined {
  const present = values.filter((value): value is string => typeof value === 'string' && value.trim() !== '');
  if (present.length === 0) return undefined;
  for (const { kind, test } of VALUE_CHECKS) {
    const matching = present.filter(test);
    const example = matching[0];
    if (example !== undefined && matching.length / present.length >= threshold) {
      return { kind, matches: matching.length, total: present.length, example };
    }
  }
  return undefined;
}

function describeKind(kind: PersonalDataKind): string {
  switch (kind) {
    case 'email':
      return 'e-mail addresses';
    case 'phone':
      return 'phone numbers';
    case 'person-name':
      return "a person's name";
    case 'address':
      return 'postal addresses';
    case 'birth-date':
      return 'birth dates';
    case 'bank-account':
      return 'bank or card numbers';
    case 'government-id':
      return 'government identifiers';
    case 'contact':
      return 'contact details';
  }
}

function percent(share: number): string {
  return `${(share * 100).toFixed(share < 0.01 ? 2 : 1)} %`;
}

/** Keeps the shape of a value for the message while hiding most of it (the message lands in audit logs). */
function mask(value: string): string {
  const trimmed = value.trim();
  if (trimmed.length <= 4) return '*'.repeat(trimmed.length);
  return `${trimmed.slice(0, 2)}${trimmed.slice(2, -2).replace(/[\p{L}\p{N}]/gu, '*')}${trimmed.slice(-2)}`;
}
