/** The real reference data sets for tests: the repository's `data/reference`, or KERF_SHARED_DATA. */
import path from 'node:path';
import { AI4I_CSV, referenceDataDir, STEEL_ENERGY_CSV } from '../ml/referenceDatasets';
import { repoRoot } from '../platform/paths';

export const sharedData = referenceDataDir(repoRoot, process.env.KERF_SHARED_DATA);
export const steelEnergyCsv = path.join(sharedData, STEEL_ENERGY_CSV);
export const ai4iCsv = path.join(sharedData, AI4I_CSV);
