/** Gradient-boosted trees: training, prediction and their options. */
export { trainGbdt, trainGbdtDetailed, type GbdtTrainingResult } from './train';
export { predictGbdt, predictGbdtRaw, predictGbdtTable } from './predict';
export type { GbdtOptions, GrowthPolicy } from './options';
