/** The shop's customers: who orders, how often and in which lot sizes. */
import { REGIONS, type SizeSegment, CUSTOMER_COUNT } from './catalogue';
import { entityRandom, pick, STREAM_CUSTOMER } from './randomness';

export interface Customer {
  customerId: number;
  name: string;
  sizeSegment: SizeSegment;
  region: string;
}

const NAME_STEMS = [
  'Alder',
  'Birk',
  'Castel',
  'Dorn',
  'Eschen',
  'Falk',
  'Grun',
  'Hagen',
  'Isen',
  'Jura',
  'Kessel',
  'Linden',
  'Moor',
  'Nord',
  'Ost',
  'Prell',
  'Quell',
  'Rhein',
  'Stahl',
  'Tann',
  'Ufer',
  'Vogt',
  'Wald',
  'Zinn',
];
const NAME_TRADES = [
  'Anlagenbau',
  'Fahrzeugtechnik',
  'Gehäusebau',
  'Maschinenbau',
  'Metallbau',
  'Medizintechnik',
  'Regaltechnik',
  'Klimatechnik',
  'Landtechnik',
  'Elektrotechnik',
];

/** The shop's customers: the same for every seed (it is one shop), 60 % small, 30 % medium, 10 % large. */
export function shopCustomers(): Customer[] {
  const customers: Customer[] = [];
  for (let id = 1; id <= CUSTOMER_COUNT; id++) {
    const random = entityRandom(20_240_101, STREAM_CUSTOMER, id);
    const draw = random.next();
    const sizeSegment: SizeSegment = draw < 0.6 ? 'small' : draw < 0.9 ? 'medium' : 'large';
    const name = `${pick(random, NAME_STEMS)} ${pick(random, NAME_TRADES)} ${id}`;
    customers.push({ customerId: id, name, sizeSegment, region: pick(random, REGIONS) });
  }
  return customers;
}

/** Large customers order more often. */
export const ORDER_WEIGHT: Record<SizeSegment, number> = { small: 1, medium: 2.5, large: 6 };
export const QUANTITY_MEDIAN: Record<SizeSegment, number> = { small: 12, medium: 30, large: 80 };
