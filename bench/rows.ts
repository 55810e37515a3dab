// The bench's results table: one row per measured number, written to bench/results/ and docs/benchmarks.md.

export interface Row {
  case: string;
  metric: string;
  value: string;
  goal?: string;
}

/** `28.7 s / 20.0 s = 1.436x` */
export const ratioValue = (seconds: number, against: number): string =>
  `${seconds.toFixed(1)} s / ${against.toFixed(1)} s = ${(seconds / against).toFixed(3)}x`;

/** The heading line, then the rows as a Markdown table. */
export function rowsTable(heading: string, rows: Row[]): string {
  return [
    heading,
    '',
    '| case | metric | value | goal |',
    '| --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.case} | ${r.metric} | ${r.value} | ${r.goal ?? ''} |`),
  ].join('\n');
}
