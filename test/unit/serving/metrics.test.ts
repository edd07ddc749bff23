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

describe('ServingMetrics.answered', () => {
  it('exports each route and status as a request count and a latency histogram of its method and route', async () => {
    const metrics = new ServingMetrics();
    const route = '/v1/models/:name/predict';
    metrics.answered('POST', route, 200, 0.0004);
    metrics.answered('POST', route, 200, 0.003);
    metrics.answered('POST', route, 400, 0.0025);
    metrics.answered('GET', '/v1/status', 200, 7);
    const text = await metrics.registry.metrics();
    const predict = `method="POST",route="${route}"`;
    expect(text).toContain('# TYPE kerf_serving_request_duration_seconds histogram');
    expect(sample(text, `kerf_serving_requests_total{method="POST",route="${route}",status="200"}`)).toBe(2);
    expect(sample(text, `kerf_serving_requests_total{method="POST",route="${route}",status="400"}`)).toBe(1);
    // Cumulative buckets: a bound holds the observations at or below it.
    expect(sample(text, `kerf_serving_request_duration_seconds_bucket{${predict},le="0.001"}`)).toBe(1);
    expect(sample(text, `kerf_serving_request_duration_seconds_bucket{${predict},le="0.0025"}`)).toBe(2);
    expect(sample(text, `kerf_serving_request_duration_seconds_bucket{${predict},le="0.005"}`)).toBe(3);
    expect(sample(text, `kerf_serving_request_duration_seconds_bucket{${predict},le="5"}`)).toBe(3);
    expect(sample(text, `kerf_serving_request_duration_seconds_bucket{${predict},le="+Inf"}`)).toBe(3);
    expect(sample(text, `kerf_serving_request_duration_seconds_sum{${predict}}`)).toBeCloseTo(0.0059, 12);
    expect(sample(text, `kerf_serving_request_duration_seconds_count{${predict}}`)).toBe(3);
    const status = 'method="GET",route="/v1/status"';
    expect(sample(text, `kerf_serving_request_duration_seconds_bucket{${status},le="5"}`)).toBe(0);
    expect(sample(text, `kerf_serving_request_duration_seconds_bucket{${status},le="+Inf"}`)).toBe(1);

    // The next scrape shows the totals, not what came since the last one.
    metrics.answered('POST', route, 200, 0.02);
    const next = await metrics.registry.metrics();
    expect(sample(next, `kerf_serving_request_duration_seconds_count{${predict}}`)).toBe(4);
    expect(sample(next, `kerf_serving_request_duration_seconds_bucket{${predict},le="0.025"}`)).toBe(4);
    expect(sample(next, `kerf_serving_requests_total{method="POST",route="${route}",status="200"}`)).toBe(3);
  });

  it('answers the JSON form of the registry with the same histogram', async () => {
    const metrics = new ServingMetrics();
    metrics.answered('POST', '/v1/outcomes', 201, 0.01);
    const json = await metrics.registry.getMetricsAsJSON();
    const latency = json.find((metric) => metric.name === 'kerf_serving_request_duration_seconds');
    expect(latency?.type).toBe('histogram');
    expect(latency?.values).toContainEqual({
      labels: { method: 'POST', route: '/v1/outcomes', le: '+Inf' },
      value: 1,
      metricName: 'kerf_serving_request_duration_seconds_bucket',
    });
  });
});
