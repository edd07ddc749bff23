/** Drift scenarios: how a run of the generator departs from the shop as usual, to test monitoring. */
export const SCENARIOS = ['none', 'new-material', 'machine-wear', 'price-shock'] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** What each scenario does to the jobs of the run it is given to. */
export const SCENARIO_EFFECTS: Record<Scenario, string> = {
  none: 'the shop as usual',
  'new-material': 'titanium (a material family never seen before) appears in about 30 % of new parts',
  'machine-wear': 'the 12 kW laser LAS-2 cuts 15 % slower',
  'price-shock': 'steel prices (mild, galvanised and stainless) rise by 20 %',
};

/** The share of new parts in titanium under `new-material`. */
export const NEW_MATERIAL_SHARE = 0.3;
/** LAS-2's cutting speed under `machine-wear`. */
export const WORN_SPEED_FACTOR = 0.85;
export const WORN_MACHINE = 'LAS-2';
/** Steel price multiplier under `price-shock`. */
export const PRICE_SHOCK_FACTOR = 1.2;
