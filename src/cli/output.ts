// What the CLI prints: aligned tables for people, JSON for scripts. stdout holds results only;
// messages and errors go to stderr (index.ts).

/** Columns padded to their widest cell, two spaces apart; the last column is not padded. */
export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column])))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export const formatJson = (value: unknown) => JSON.stringify(value, null, 2);

/** An ISO time as "2026-11-27 14:05 UTC", or "-" / `none` when absent. */
export function formatTime(iso: string | null | undefined, none = '-'): string {
  if (!iso) return none;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function printLine(text = ''): void {
  process.stdout.write(`${text}\n`);
}

export function printMessage(text: string): void {
  process.stderr.write(`${text}\n`);
}
