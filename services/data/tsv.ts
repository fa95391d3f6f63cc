/** Reads a recbole-style TSV (one header line) and validates every row against a schema. */
import { readFile } from 'node:fs/promises';
import type { z } from 'zod';

export interface RowError {
  file: string;
  line: number;
  reason: string;
}

export interface ValidatedRows<T> {
  rows: T[];
  /** The file line of each row in `rows`, for errors found after parsing (duplicates, references). */
  lines: number[];
  errors: RowError[];
}

export async function readValidatedTsv<S extends z.ZodType>(
  file: string,
  schema: S,
  columns: number,
): Promise<ValidatedRows<z.output<S>>> {
  const text = await readFile(file, 'utf8');
  const lines = text.split('\n');
  const rows: z.output<S>[] = [];
  const rowLines: number[] = [];
  const errors: RowError[] = [];
  // Line 1 is the header; numbering is 1-based so messages match an editor's.
  for (let i = 1; i < lines.length; i++) {
    const raw = lines[i].replace(/\r$/, '');
    if (raw === '' && i === lines.length - 1) break;
    const fields = raw.split('\t');
    if (fields.length !== columns) {
      errors.push({
        file,
        line: i + 1,
        reason: `expected ${columns} tab-separated fields, got ${fields.length}`,
      });
      continue;
    }
    const parsed = schema.safeParse(fields);
    if (parsed.success) {
      rows.push(parsed.data);
      rowLines.push(i + 1);
    } else
      errors.push({
        file,
        line: i + 1,
        reason: parsed.error.issues
          .map((issue) => `${issue.path.join('.') || 'row'}: ${issue.message}`)
          .join('; '),
      });
  }
  return { rows, lines: rowLines, errors };
}

export function formatRowError(e: RowError): string {
  return `${e.file}:${e.line}: ${e.reason}`;
}
