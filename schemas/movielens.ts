/** Rows of the MovieLens 100K files as shipped by recbole (`.inter`, `.item`, `.user`). */
import { z } from 'zod';

const id = z.string().regex(/^[1-9][0-9]*$/, 'expected a positive integer id');
const integerString = (what: string) => z.string().regex(/^-?[0-9]+$/, `expected an integer ${what}`);

export const ratingRowSchema = z
  .tuple([id, id, integerString('rating'), integerString('timestamp')])
  .transform(([user, item, rating, timestamp]) => ({
    user,
    item,
    rating: Number(rating),
    timestamp: Number(timestamp),
  }))
  .refine((r) => r.rating >= 1 && r.rating <= 5, { message: 'rating must be within 1..5' })
  .refine((r) => r.timestamp > 0, { message: 'timestamp must be positive' });

/**
 * Release year is content metadata, not identity: ML-100K ships item 267 with "unkonwn" and
 * item 1412 with a title that swallowed its year ("… (1995)") and "V" in the year column.
 * Such items are kept with the year recovered from the title or left unknown (null).
 */
export const itemRowSchema = z
  .tuple([id, z.string().min(1, 'title is empty'), z.string(), z.string()])
  .transform(([item, title, year, genres]) => ({
    item,
    title,
    year: parseYear(year) ?? parseYear(/\((\d{4})\)\s*$/.exec(title)?.[1] ?? ''),
    genres: genres.split(' ').filter((g) => g.length > 0),
  }));

function parseYear(text: string): number | null {
  if (!/^\d{4}$/.test(text)) return null;
  const year = Number(text);
  return year >= 1800 && year <= 2100 ? year : null;
}

export const userRowSchema = z
  .tuple([id, integerString('age'), z.enum(['M', 'F']), z.string().min(1, 'occupation is empty'), z.string()])
  .transform(([user, age, gender, occupation, zip]) => ({ user, age: Number(age), gender, occupation, zip }))
  .refine((r) => r.age > 0 && r.age < 120, { message: 'age must be within 1..119' });

export type RatingRow = z.output<typeof ratingRowSchema>;
export type ItemRow = z.output<typeof itemRowSchema>;
export type UserRow = z.output<typeof userRowSchema>;
