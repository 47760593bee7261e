// The few statistics the workers report draws from its samples. An empty
// list gives NaN rather than 0: a figure that was never measured must not
// read as a measured zero.

/** Median and spread of a set of samples, as the report shows them. */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

function sorted(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

/** The median of `values` (the mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  const ordered = sorted(values);
  const middle = Math.floor(ordered.length / 2);
  if (ordered.length === 0) return Number.NaN;
  if (ordered.length % 2 === 1) return ordered[middle] ?? Number.NaN;
  return ((ordered[middle - 1] ?? Number.NaN) + (ordered[middle] ?? Number.NaN)) / 2;
}

/**
 * The range of `values`. From five samples on, the lowest and the highest are
 * left out, so that one disturbed round either way is set aside (which no
 * number of extra rounds could do for a plain min–max). NaN for both when empty.
 */
export function spread(values: readonly number[]): { min: number; max: number } {
  const ordered = sorted(values);
  const kept = ordered.length >= 5 ? ordered.slice(1, -1) : ordered;
  return { min: kept[0] ?? Number.NaN, max: kept[kept.length - 1] ?? Number.NaN };
}

/**
 * Coefficient of variation: population standard deviation over the mean.
 * 0 for identical values; NaN when empty or when the mean is 0.
 */
export function cv(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  if (mean === 0) return Number.NaN;
  const variance = values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / values.length;
  return Math.sqrt(variance) / mean;
}

/** {@link median} and {@link spread} together. */
export function summary(values: readonly number[]): Summary {
  return { median: median(values), ...spread(values) };
}
