/**
 * Minimal readers for the RecBole-style ML-100K atomic files, so the model
 * benchmarks do not wait on the validated loader in services/data.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSettings } from '../../services/config/environment';
import type { Demographics, Interaction } from '../../services/models/types';

/** Where `cairn data fetch` put ML-100K: under CAIRN_CACHE when it is set, as for every command. */
export const ML100K_DIR = join(readSettings(process.env).dataDir, 'ml-100k');

export function hasMl100k(): boolean {
  return existsSync(join(ML100K_DIR, 'ml-100k.inter'));
}

function rows(path: string): string[][] {
  const lines = readFileSync(path, 'utf8').split('\n');
  return lines
    .slice(1)
    .filter((line) => line.length > 0)
    .map((line) => line.split('\t'));
}

export function readInteractions(path = join(ML100K_DIR, 'ml-100k.inter')): Interaction[] {
  return rows(path).map(([user, item, rating, timestamp]) => ({
    user,
    item,
    rating: Number(rating),
    timestamp: Number(timestamp),
  }));
}

export function readDemographics(path = join(ML100K_DIR, 'ml-100k.user')): Map<string, Demographics> {
  return new Map(
    rows(path).map(([user, age, gender, occupation]) => [user, { age: Number(age), gender, occupation }]),
  );
}
