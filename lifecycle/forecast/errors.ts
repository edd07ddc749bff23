/**
 * The one error kind of order forecasting: bad data or settings, with a message that names the column,
 * row or series and says what to do, so the lifecycle can fail the run as non-retryable bad data.
 */

/** Forecasting cannot go on with this data or these settings; the message says what to fix. */
export class ForecastError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ForecastError';
  }
}
