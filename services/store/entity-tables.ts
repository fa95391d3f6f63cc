/**
 * A frozen snapshot's users and items as columns, written once when the snapshot is taken.
 * Replaying the entity log (one JSON event per line, with its maps and fingerprints) costs a
 * 10M-event snapshot 9–39 s, and every training task of a retrain read it again; these columns
 * load in a few seconds. The V8 serialisation format is documented as safe to store: a newer
 * Node reads what an older one wrote.
 */
import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import type { ItemContent, UserDemographics } from './interaction-store';

/** The entity registry as training reads it; `InteractionStore` is one. */
export interface EntityTables {
  readonly userIds: readonly string[];
  readonly itemIds: readonly string[];
  readonly categoryNames: readonly string[];
  /** Per item, indexes into `categoryNames`. */
  readonly itemCategories: readonly (readonly number[])[];
  readonly itemContent: readonly ItemContent[];
  readonly userDemographics: readonly UserDemographics[];
}

const tablesFile = 'entity-tables.v8';
const tablesFormat = 1;

interface StoredTables {
  format: number;
  /** The length of the entity log the tables were made from: they hold for that log only. */
  entitiesBytes: number;
  userIds: string[];
  itemIds: string[];
  categoryNames: string[];
  categoryPtr: Uint32Array;
  categories: Uint32Array;
  titles: string[];
  years: (number | null)[];
  texts: string[];
  /** One JSON text: a hundred thousand small objects deserialise far slower one by one. */
  demographics: string;
}

export function hasEntityTables(dir: string): boolean {
  return existsSync(join(dir, tablesFile));
}

/** Writes the tables of an entity log of `entitiesBytes` into `dir`, atomically. */
export async function writeEntityTables(
  dir: string,
  tables: EntityTables,
  entitiesBytes: number,
): Promise<void> {
  const categoryPtr = new Uint32Array(tables.itemIds.length + 1);
  tables.itemCategories.forEach((categories, item) => {
    categoryPtr[item + 1] = categoryPtr[item] + categories.length;
  });
  const stored: StoredTables = {
    format: tablesFormat,
    entitiesBytes,
    userIds: [...tables.userIds],
    itemIds: [...tables.itemIds],
    categoryNames: [...tables.categoryNames],
    categoryPtr,
    categories: Uint32Array.from(tables.itemCategories.flat()),
    titles: tables.itemContent.map((content) => content.title),
    years: tables.itemContent.map((content) => content.year),
    texts: tables.itemContent.map((content) => content.text),
    demographics: JSON.stringify(tables.userDemographics),
  };
  const path = join(dir, tablesFile);
  await writeFile(`${path}.tmp`, serialize(stored));
  await rename(`${path}.tmp`, path);
}

/** The tables in `dir` made from an entity log of `entitiesBytes`, or undefined when there are none. */
export async function readEntityTables(
  dir: string,
  entitiesBytes: number,
): Promise<EntityTables | undefined> {
  const path = join(dir, tablesFile);
  if (!existsSync(path)) return undefined;
  const stored = deserialize(await readFile(path)) as StoredTables;
  if (stored.format !== tablesFormat || stored.entitiesBytes !== entitiesBytes) return undefined;
  const { categoryPtr, categories, titles, years, texts } = stored;
  return {
    userIds: stored.userIds,
    itemIds: stored.itemIds,
    categoryNames: stored.categoryNames,
    itemCategories: stored.itemIds.map((_, item) =>
      Array.from(categories.subarray(categoryPtr[item], categoryPtr[item + 1])),
    ),
    itemContent: titles.map((title, item) => ({ title, year: years[item], text: texts[item] })),
    userDemographics: JSON.parse(stored.demographics) as UserDemographics[],
  };
}
