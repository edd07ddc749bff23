import { describe, expect, it } from 'vitest';
import { ServingMetrics } from '../../../serving/metrics';

/** The value of one sample line of the exposition text, or undefined when it is not there. */
function sample(text: string, line: string): number | undefined {
  const found = text.split('\n').find((candidate) => candidate.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

describe('ServingMetrics.scoredRows', () => {
  it('adds the rows counted between scrapes to kerf_serving_predictions_total, once each', async () => {
    const metrics = new ServingMetrics();
    const production = metrics.scoredRows('cut-time', 3, 'production');
    const shadow = metrics.scoredRows('cut-time', 4, 'shadow');
    const productionLine = 'kerf_serving_predictions_total{model="cut-time",version="3",alias="production"}';
    const shadowLine = 'kerf_serving_predictions_total{model="cut-time",version="4",alias="shadow"}';

    production.inc(1);
    production.inc(100);
    shadow.inc(2);
    let text = await metrics.registry.metrics();
    expect(sample(text, productionLine)).toBe(101);
    expect(sample(text, shadowLine)).toBe(2);

    // A scrape with nothing new adds nothing; the next rows add to what was reported.
    text = await metrics.registry.metrics();
    expect(sample(text, productionLine)).toBe(101);
    production.inc(5);
    text = await metrics.registry.metrics();
    expect(sample(text, productionLine)).toBe(106);
    expect(sample(text, shadowLine)).toBe(2);
  });

  it('shows no series before a row was scored', async () => {
    const metrics = new ServingMetrics();
    metrics.scoredRows('cut-time', 1, 'canary');
    const text = await metrics.registry.metrics();
    expect(text).toContain('# TYPE kerf_serving_predictions_total counter');
    expect(text).not.toContain('alias="canary"');
  });
});
