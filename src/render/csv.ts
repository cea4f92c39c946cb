/**
 * CSV files for spreadsheets: RFC 4180 (comma, CRLF between records, a field with a comma,
 * a quote or a line break quoted and its quotes doubled), UTF-8 with a byte-order mark so
 * Excel reads the accents right, and no cell a spreadsheet would run: a cell starting with
 * `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'` (the OWASP "CSV
 * injection" advice), so `=HYPERLINK(...)` in someone's nickname stays text.
 *
 * Quoting and the formula guard are csv-stringify's (`escape_formulas`); this module only
 * fixes the options and streams: rows arrive a page at a time and leave as bytes, so an
 * export of 100,000 people never holds them all.
 *
 * @example
 *   const body = () => csvStream(['username', 'email'], pagesOfRows());
 *   reply([...], { files: [{ name: 'acme-members-2026-12-07.csv', mimeType: 'text/csv', body }] });
 */
import { stringify } from 'csv-stringify/sync';

const OPTIONS = {
  escape_formulas: true,
  record_delimiter: 'windows',
  // a bare CR or LF is a line break too: quote it (csv-stringify quotes only the record delimiter)
  quoted_match: /[\r\n]/,
} as const;

const BOM = '\ufeff';
const encoder = new TextEncoder();

/** The CSV text of `rows` (each a record of string cells), records ended by CRLF. */
export function csvText(rows: readonly (readonly string[])[]): string {
  return rows.length ? stringify(rows.map((r) => [...r]), OPTIONS) : '';
}

/** The whole file as a stream of UTF-8 chunks: BOM and header first, then one chunk per page. */
export async function* csvStream(header: readonly string[], pages: AsyncIterable<readonly (readonly string[])[]>): AsyncGenerator<Uint8Array> {
  yield encoder.encode(BOM + csvText([header]));
  for await (const rows of pages) {
    if (rows.length) yield encoder.encode(csvText(rows));
  }
}

/** `acme-members-2026-12-07.csv`: what, and the day it was made (UTC), in safe characters. */
export function datedFileName(what: string, at: number, ext: string): string {
  const safe = what.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'export';
  return `${safe}-${new Date(at).toISOString().slice(0, 10)}.${ext}`;
}
