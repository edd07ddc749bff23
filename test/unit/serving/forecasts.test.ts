/**
 * Hostile forecast request bodies: each refused with a 400 that names the field and what to send,
 * the message kept short however large the body, and the version's state left as it was.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { fitForecaster } from '../../../lifecycle/forecast/fit';
import { frameSeries } from '../../../lifecycle/forecast/frame';
import { forecastSettings } from '../../../lifecycle/forecast/settings';
import type { ForecastState } from '../../../lifecycle/forecast/state';
import { ServingHttpError } from '../../../serving/errors';
import { MAX_SERIES_PER_REQUEST, parseForecastRequest } from '../../../serving/forecasts';
import { syntheticOrders } from '../lifecycle/forecast/syntheticSeries';

const settings = forecastSettings({ period: 'week' });
let state: ForecastState;
let before: string;
let known: Record<string, string>;

beforeAll(() => {
  const frame = frameSeries(
    syntheticOrders({ series: 4, weeks: 120 }),
    { timeColumn: 'week_start', target: 'orders', keyColumns: ['material', 'segment'] },
    settings,
  );
  state = fitForecaster(frame, settings, { iterations: 20 }).state;
  before = JSON.stringify(state);
  const [material, segment] = (state.series[0]?.id ?? '').split(' / ');
  known = { material: material ?? '', segment: segment ?? '' };
}, 60_000);

/** The refusal of `body`: its status and message. */
function refusal(body: unknown): { status: number; message: string } {
  try {
    parseForecastRequest(body, state);
  } catch (error) {
    expect(error).toBeInstanceOf(ServingHttpError);
    const refused = error as ServingHttpError;
    return { status: refused.statusCode, message: refused.message };
  }
  throw new Error('the body was accepted');
}

describe('a hostile forecast request', () => {
  it('is refused at the field it breaks, naming what to send', () => {
    const dropped = refusal('DROP TABLE serving.predictions');
    expect(dropped.status).toBe(400);
    expect(dropped.message).toMatch(
      /^The request is invalid: body: must be a JSON object: \{"series": \{"material"/,
    );
    expect(refusal({}).message).toMatch(/series: is missing: send \{"series"/);
    expect(refusal({ series: known, evil: 1 }).message).toMatch(/evil: is not a field of a forecast request/);
    // As JSON.parse gives it: an own key named __proto__, refused like any other.
    const polluting: unknown = JSON.parse(
      `{"series": {"material": "${known.material}", "segment": "${known.segment}", "__proto__": {"polluted": true}}}`,
    );
    expect(refusal(polluting).message).toMatch(/series\.__proto__: is not a key column/);
    expect(refusal({ series: [known, 'text'] }).message).toMatch(
      /series\[1\]: must be an object of the key columns/,
    );
    expect(refusal({ series: { material: known.material, segment: { $ne: 1 } } }).message).toMatch(
      /series\.segment: is missing: give the series' value \(text\)/,
    );
    expect(refusal({ series: { ...known, machine: 'LAS-1' } }).message).toMatch(
      /series\.machine: is not a key column/,
    );
    for (const horizon of [0, -1, 1.5, 9, '8', null, 1e308]) {
      expect(refusal({ series: known, horizon }).message).toMatch(
        /horizon: must be a whole number of periods from 1 to 8/,
      );
    }
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('keeps its message short for thousands of series or keys, and leaves the state as it was', () => {
    const many = refusal({
      series: Array.from({ length: 5000 }, () => ({ material: 'x'.repeat(100), segment: 'y' })),
    });
    expect(many.message).toMatch(
      new RegExp(`series: holds 5000 series; ask for at most ${MAX_SERIES_PER_REQUEST}`),
    );
    expect(many.message).toMatch(/\(and \d+ more issues\)$/);
    expect(many.message.length).toBeLessThan(20_000);
    const keys = Object.fromEntries(Array.from({ length: 5000 }, (_, index) => [`k${index}`, index]));
    const wide = refusal({ series: { ...known, ...keys } });
    expect(wide.message).toMatch(/\(and \d+ more issues\)$/);
    expect(wide.message.length).toBeLessThan(20_000);
    expect(JSON.stringify(state)).toBe(before);
  });

  it('accepts a known series and a horizon within the trained one', () => {
    expect(parseForecastRequest({ series: [known], horizon: 3 }, state)).toEqual({
      series: [known],
      horizon: 3,
    });
  });
});
