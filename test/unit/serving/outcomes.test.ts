import { describe, expect, it } from 'vitest';
import type { TaskKind } from '../../../ml/model';
import { RegistryError } from '../../../registry/errors';
import { ServingHttpError } from '../../../serving/errors';
import { parseOutcomesRequest } from '../../../serving/outcomes';

const tasks: Record<string, TaskKind> = { 'cut-time': 'regression', 'scrap-class': 'binary' };
const taskOf = (model: string): Promise<TaskKind> => {
  const task = tasks[model];
  return task
    ? Promise.resolve(task)
    : Promise.reject(new RegistryError('not-found', `No model named ${model} is registered`));
};
const id = '4b2c7d0e-9f1a-4c3b-8d2e-1f0a9b8c7d6e';
/** The serving log knows one prediction: `id`. */
const knownPredictions = (_model: string, ids: readonly string[]): Promise<Set<string>> =>
  Promise.resolve(new Set(ids.filter((named) => named === id)));

async function refusal(body: unknown): Promise<ServingHttpError> {
  const error = await parseOutcomesRequest(body, taskOf, knownPredictions).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(ServingHttpError);
  return error as ServingHttpError;
}

describe('parseOutcomesRequest', () => {
  it('reads outcomes by prediction id and by key, with their observation time', async () => {
    const parsed = await parseOutcomesRequest(
      {
        model: 'cut-time',
        outcomes: [
          { predictionId: id.toUpperCase(), actual: 12.5, observedAt: '2025-03-01T10:00:00Z' },
          { key: 4711, actual: 0 },
        ],
      },
      taskOf,
      knownPredictions,
    );
    expect(parsed).toEqual({
      model: 'cut-time',
      outcomes: [
        { predictionId: id, actual: 12.5, observedAt: new Date('2025-03-01T10:00:00Z') },
        { key: '4711', actual: 0 },
      ],
    });
    const single = await parseOutcomesRequest(
      { model: 'scrap-class', outcome: { key: 'j', actual: true } },
      taskOf,
      knownPredictions,
    );
    expect(single.outcomes).toEqual([{ key: 'j', actual: 'true' }]);
  });

  it('names each bad field: no prediction named, the wrong type for the task, a bad id or time', async () => {
    const error = await refusal({
      model: 'cut-time',
      outcomes: [
        { actual: 3 },
        { key: 'j-2', actual: 'slow' },
        { predictionId: 'not-a-uuid', actual: 1 },
        { key: 'j-4', actual: 1, observedAt: 'yesterday' },
        { key: 'j-5', actual: 1, note: 'late' },
      ],
    });
    expect(error.statusCode).toBe(400);
    expect(error.issues).toEqual([
      {
        field: 'outcomes[0].predictionId',
        reason: 'is missing, and so is key: name the prediction by one of them',
      },
      {
        field: 'outcomes[1].actual',
        reason: 'must be a finite number (the model is a regression), got a string ("slow")',
      },
      {
        field: 'outcomes[2].predictionId',
        reason: 'must be a prediction id (a UUID), got a string ("not-a-uuid")',
      },
      { field: 'outcomes[3].observedAt', reason: expect.stringMatching(/ISO 8601/) as string },
      { field: 'outcomes[4].note', reason: expect.stringMatching(/is not a field of an outcome/) as string },
    ]);
  });

  it('refuses a prediction id the model never answered, and a non-finite actual', async () => {
    const unknown = await refusal({
      model: 'cut-time',
      outcomes: [
        { predictionId: id, actual: 1 },
        { predictionId: '00000000-0000-4000-8000-000000000000', actual: 2 },
      ],
    });
    expect(unknown.issues).toEqual([
      {
        field: 'outcomes[1].predictionId',
        reason:
          'names no prediction of cut-time: send the predictionId the API answered with (or the key sent with the row)',
      },
    ]);
    const infinite = await refusal({ model: 'cut-time', outcome: { key: 'j', actual: Infinity } });
    expect(infinite.issues).toEqual([
      {
        field: 'outcome.actual',
        reason: 'must be a finite number (the model is a regression), got a number (Infinity)',
      },
    ]);
  });

  it('refuses a body without a model or outcomes, and answers 404 for an unknown model', async () => {
    expect((await refusal({ outcomes: [] })).issues?.map((issue) => issue.field)).toEqual([
      'model',
      'outcomes',
    ]);
    const unknown = await refusal({ model: 'no-such', outcomes: [{ key: 'k', actual: 1 }] });
    expect([unknown.statusCode, unknown.code]).toEqual([404, 'model-not-found']);
  });
});
