/** The pipeline-spec schema: its parts, cross-field checks and derived defaults together. */
import { type z } from 'zod';
import { crossCheck, resolveDerivedDefaults } from './crossChecks';
import { specObjectSchema } from './parts';
import { isRecord } from './syntax';

/**
 * The pipeline spec schema. Parsing fills every default, including the gbdt loss and the primary
 * quality metric, so a parsed spec parses again to itself.
 */
export const pipelineSpecSchema = specObjectSchema
  .superRefine(crossCheck, { when: (payload) => isRecord(payload.value) })
  .transform(resolveDerivedDefaults);

/** A validated pipeline spec with all defaults filled in. */
export type PipelineSpec = z.output<typeof pipelineSpecSchema>;
/** A pipeline spec as written, before defaults. */
export type PipelineSpecInput = z.input<typeof pipelineSpecSchema>;
