/**
 * MovieLens 100K as a validated dataset. Every bad row is reported with its file and line;
 * nothing is dropped silently: a dataset with errors is refused as a whole unless the caller
 * explicitly asks for the valid part (and then still gets the errors back).
 */
import { join } from 'node:path';
import {
  type ItemRow,
  itemRowSchema,
  type RatingRow,
  ratingRowSchema,
  type UserRow,
  userRowSchema,
} from '../../schemas/movielens';
import { formatRowError, type RowError, readValidatedTsv, type ValidatedRows } from './tsv';

export interface MovieLens {
  ratings: RatingRow[];
  items: ItemRow[];
  users: UserRow[];
}

export interface MovieLensLoad extends MovieLens {
  errors: RowError[];
}

export class DatasetError extends Error {
  constructor(readonly errors: RowError[]) {
    const shown = errors.slice(0, 20).map(formatRowError).join('\n  ');
    const more = errors.length > 20 ? `\n  … and ${errors.length - 20} more` : '';
    super(`dataset has ${errors.length} invalid row(s):\n  ${shown}${more}`);
    this.name = 'DatasetError';
  }
}

export const movieLensFiles = (dir: string) => ({
  ratings: join(dir, 'ml-100k.inter'),
  items: join(dir, 'ml-100k.item'),
  users: join(dir, 'ml-100k.user'),
});

/** Validates rows and cross-references; returns the valid part alongside every error. */
export async function readMovieLens(dir: string): Promise<MovieLensLoad> {
  const files = movieLensFiles(dir);
  const [ratings, items, users] = await Promise.all([
    readValidatedTsv(files.ratings, ratingRowSchema, 4),
    readValidatedTsv(files.items, itemRowSchema, 4),
    readValidatedTsv(files.users, userRowSchema, 5),
  ]);
  const errors = [...ratings.errors, ...items.errors, ...users.errors];

  const uniqueItems = keepFirstOfEachId(items, (r) => r.item, files.items, errors);
  const uniqueUsers = keepFirstOfEachId(users, (r) => r.user, files.users, errors);
  const itemIds = new Set(uniqueItems.map((r) => r.item));
  const userIds = new Set(uniqueUsers.map((r) => r.user));
  const knownRatings = ratings.rows.filter((r, i) => {
    if (itemIds.has(r.item) && userIds.has(r.user)) return true;
    const reason = itemIds.has(r.item) ? `unknown user ${r.user}` : `unknown item ${r.item}`;
    errors.push({ file: files.ratings, line: ratings.lines[i], reason });
    return false;
  });
  return { ratings: knownRatings, items: uniqueItems, users: uniqueUsers, errors };
}

/** Loads the dataset, refusing it when any row is invalid. */
export async function loadMovieLens(dir: string): Promise<MovieLens> {
  const load = await readMovieLens(dir);
  if (load.errors.length > 0) throw new DatasetError(load.errors);
  return { ratings: load.ratings, items: load.items, users: load.users };
}

function keepFirstOfEachId<T>(
  parsed: ValidatedRows<T>,
  id: (row: T) => string,
  file: string,
  errors: RowError[],
): T[] {
  const firstLine = new Map<string, number>();
  return parsed.rows.filter((row, i) => {
    const key = id(row);
    const first = firstLine.get(key);
    if (first === undefined) {
      firstLine.set(key, parsed.lines[i]);
      return true;
    }
    errors.push({ file, line: parsed.lines[i], reason: `duplicate id ${key} (first on line ${first})` });
    return false;
  });
}
