/**
 * Forecast accuracy: MASE (errors over the series' in-sample seasonal-naive error), sMAPE, bias and
 * interval coverage, per series and overall. Overall MASE is the mean of the per-series MASE, so a
 * big series does not drown the small ones; overall sMAPE, bias and coverage pool every point.
 */

/** Forecast points to score; index i is one (series, period) point. */
export interface ForecastPoints {
  /** Series index of each point (into the ids given to {@link forecastAccuracy}). */
  series: ArrayLike<number>;
  actual: ArrayLike<number>;
  forecast: ArrayLike<number>;
  /** MASE scale of the point's series (see {@link maseScale}). */
  scale: ArrayLike<number>;
  /** Interval bounds, when the forecaster gives intervals. */
  lower?: ArrayLike<number>;
  upper?: ArrayLike<number>;
}

/** Accuracy of a set of points. */
export interface Accuracy {
  /** Mean absolute error over the MASE scale. */
  mase: number;
  /** Mean of 2|f - a| / (|a| + |f|), 0 where both are 0. */
  smape: number;
  /** mean(forecast - actual) / mean(actual); 0 when both means are 0, null when only the actuals' is. */
  bias: number | null;
  /** Fraction of actuals inside [lower, upper], when there are intervals. */
  coverage?: number;
  points: number;
}

/** Accuracy of each series and overall. */
export interface AccuracyReport {
  overall: Accuracy;
  perSeries: ({ id: string } & Accuracy)[];
}

/** Fewest seasonal differences for a seasonal MASE scale; shorter histories use lag-1 differences. */
const MIN_SEASONAL_DIFFERENCES = 4;

/**
 * The MASE scale of a series: the mean |y_t - y_{t-season}| over `values[0..until)`, or of lag-1
 * differences when fewer than 4 seasonal ones exist or they are all 0; 1 when those are 0 too (a
 * constant series: errors then count in the target's units).
 */
export function maseScale(values: ArrayLike<number>, until: number, seasonLength: number): number {
  const meanDifference = (lag: number) => {
    let sum = 0;
    let count = 0;
    for (let t = lag; t < until; t++) {
      sum += Math.abs((values[t] as number) - (values[t - lag] as number));
      count += 1;
    }
    return { mean: count > 0 ? sum / count : 0, count };
  };
  const seasonal = meanDifference(seasonLength);
  if (seasonal.count >= MIN_SEASONAL_DIFFERENCES && seasonal.mean > 0) return seasonal.mean;
  const lagOne = meanDifference(1);
  return lagOne.mean > 0 ? lagOne.mean : 1;
}

/** Sums over a group of points. */
class Sums {
  scaledError = 0;
  smape = 0;
  error = 0;
  actual = 0;
  forecast = 0;
  covered = 0;
  points = 0;

  add(actual: number, forecast: number, scale: number, lower?: number, upper?: number): void {
    const error = forecast - actual;
    this.scaledError += Math.abs(error) / scale;
    const denominator = Math.abs(actual) + Math.abs(forecast);
    this.smape += denominator === 0 ? 0 : (2 * Math.abs(error)) / denominator;
    this.error += error;
    this.actual += actual;
    this.forecast += forecast;
    if (lower !== undefined && upper !== undefined && actual >= lower && actual <= upper) this.covered += 1;
    this.points += 1;
  }

  accuracy(withCoverage: boolean): Accuracy {
    const n = Math.max(1, this.points);
    return {
      mase: this.scaledError / n,
      smape: this.smape / n,
      bias: biasOf(this.error, this.actual, this.forecast),
      ...(withCoverage ? { coverage: this.covered / n } : {}),
      points: this.points,
    };
  }
}

function biasOf(error: number, actual: number, forecast: number): number | null {
  if (actual !== 0) return error / actual;
  return forecast === 0 ? 0 : null;
}

/** Scores points per series (in `seriesIds` order, series without points left out) and overall. */
export function forecastAccuracy(points: ForecastPoints, seriesIds: readonly string[]): AccuracyReport {
  const withCoverage = points.lower !== undefined && points.upper !== undefined;
  const perSeries = seriesIds.map(() => new Sums());
  const pooled = new Sums();
  for (let i = 0; i < points.series.length; i++) {
    const actual = points.actual[i] as number;
    const forecast = points.forecast[i] as number;
    const scale = points.scale[i] as number;
    const lower = points.lower?.[i];
    const upper = points.upper?.[i];
    (perSeries[points.series[i] as number] as Sums).add(actual, forecast, scale, lower, upper);
    pooled.add(actual, forecast, scale, lower, upper);
  }
  const scored = seriesIds
    .map((id, index) => ({ id, ...(perSeries[index] as Sums).accuracy(withCoverage) }))
    .filter((entry) => entry.points > 0);
  const overall = pooled.accuracy(withCoverage);
  // Overall MASE is the mean of the series' MASE, not the pooled one.
  overall.mase = scored.length > 0 ? scored.reduce((sum, entry) => sum + entry.mase, 0) / scored.length : 0;
  return { overall, perSeries: scored };
}
