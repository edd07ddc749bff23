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

/**
 * Order-intake scenarios (`kerf shop orders --append --scenario`): how demand departs from the usual
 * from the first day of the appended run on, to test order forecasting.
 */
export const ORDER_SCENARIOS = ['none', 'customer-leaves', 'demand-surge', 'price-shock'] as const;
export type OrderScenario = (typeof ORDER_SCENARIOS)[number];

/** Order lines' volume under `demand-surge`. */
export const DEMAND_SURGE_FACTOR = 1.4;
/**
 * Steel families' order volume under `price-shock`: the same shock as the jobs' `price-shock`
 * (steel prices x PRICE_SHOCK_FACTOR), met with a price elasticity of demand of -0.75.
 */
export const STEEL_DEMAND_FACTOR = 1 - 0.75 * (PRICE_SHOCK_FACTOR - 1);

/** What each order-intake scenario does to the order lines of the run it is given to. */
export const ORDER_SCENARIO_EFFECTS: Record<OrderScenario, string> = {
  none: 'demand as usual',
  'customer-leaves': 'the key account, the biggest large customer, orders nothing more',
  'demand-surge': `every customer orders ${Math.round((DEMAND_SURGE_FACTOR - 1) * 100)} % more lines`,
  'price-shock': `mild, galvanised and stainless steel get ${Math.round((1 - STEEL_DEMAND_FACTOR) * 100)} % fewer lines, their price up ${Math.round((PRICE_SHOCK_FACTOR - 1) * 100)} %`,
};
