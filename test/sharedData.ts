/** The shared real data sets for tests: `../shared/data`, or wherever KERF_SHARED_DATA points. */
import path from 'node:path';
import { AI4I_CSV, sharedDataDir, STEEL_ENERGY_CSV } from '../ml/referenceDatasets';
import { repoRoot } from '../platform/paths';

export const sharedData = sharedDataDir(repoRoot, process.env.KERF_SHARED_DATA);
export const steelEnergyCsv = path.join(sharedData, STEEL_ENERGY_CSV);
export const ai4iCsv = path.join(sharedData, AI4I_CSV);
