/**
 * What training reads from the interaction store. The retrain reads the interactions as columns,
 * decoded straight from the store's fixed-width records: a day's log of millions of events would
 * cost more as one object each than the matrix it becomes. The evaluation paths (`cairn eval`,
 * the ranker's pipeline evaluation) still take one object per interaction, made by
 * `trainingObjects` and only there.
 */
import type { ItemContent } from '../models/two-tower/features';
import type { Demographics, Interaction } from '../models/types';
import type { EntityTables } from './entity-tables';
import type { InteractionStore } from './interaction-store';
import { interactionFields } from './records';

/** Entry n of every column is the store's nth interaction; `user` and `item` index the id tables. */
export interface InteractionColumns {
  readonly length: number;
  readonly userIds: readonly string[];
  readonly itemIds: readonly string[];
  readonly user: Uint32Array;
  readonly item: Uint32Array;
  /** Seconds, as in the published datasets, so exported splits compare with other tools. */
  readonly time: Float64Array;
  /** The rating or watch fraction; 0 when the type carries none. */
  readonly value: Float32Array;
}

/** The interactions, in whichever form the reader takes, and the side information. */
export interface TrainingData<I> {
  interactions: I;
  /** Every item in the catalog, interacted with or not: the index must hold them all. */
  items: readonly string[];
  /** Users whose demographics are complete enough for cohorts. */
  demographics: Map<string, Demographics>;
  /** What the item tower reads: title, year, categories. */
  itemContent: Map<string, ItemContent>;
}

/** What the retrain reads. */
export type ColumnarTrainingSet = TrainingData<InteractionColumns>;
/** What the evaluation paths read. */
export type TrainingSet = TrainingData<Interaction[]>;

/** What the columns are read from: a store, or a snapshot's entity tables and records. */
export interface TrainingSource extends EntityTables {
  counts(): { interactions: number };
  scanInteractionRecords(visit: (view: DataView, at: number) => void): Promise<void>;
}

/** The store's interactions as columns, one sequential read of its records. */
export async function readInteractionColumns(store: TrainingSource): Promise<InteractionColumns> {
  const length = store.counts().interactions;
  const columns = {
    length,
    userIds: store.userIds,
    itemIds: store.itemIds,
    user: new Uint32Array(length),
    item: new Uint32Array(length),
    time: new Float64Array(length),
    value: new Float32Array(length),
  };
  let n = 0;
  await store.scanInteractionRecords((view, at) => {
    columns.user[n] = view.getUint32(at + interactionFields.user, true);
    columns.item[n] = view.getUint32(at + interactionFields.item, true);
    columns.time[n] = Math.floor(view.getFloat64(at + interactionFields.occurredAt, true) / 1000);
    columns.value[n] = view.getFloat32(at + interactionFields.value, true);
    n++;
  });
  return columns;
}

export async function readColumnarTrainingSet(store: TrainingSource): Promise<ColumnarTrainingSet> {
  const interactions = await readInteractionColumns(store);
  const demographics = new Map<string, Demographics>();
  store.userDemographics.forEach((d, user) => {
    if (d.age !== undefined && d.gender !== undefined && d.occupation !== undefined)
      demographics.set(store.userIds[user], { age: d.age, gender: d.gender, occupation: d.occupation });
  });
  const itemContent = new Map<string, ItemContent>(
    store.itemIds.map((id, item) => [
      id,
      {
        title: store.itemContent[item].title,
        year: store.itemContent[item].year,
        genres: store.itemCategories[item].map((c) => store.categoryNames[c]),
      },
    ]),
  );
  return { interactions, items: [...store.itemIds], demographics, itemContent };
}

/** The evaluation paths' training set: the only place a snapshot becomes one object per interaction. */
export async function readTrainingSet(store: InteractionStore): Promise<TrainingSet> {
  return trainingObjects(await readColumnarTrainingSet(store));
}

export function trainingObjects(training: ColumnarTrainingSet): TrainingSet {
  const columns = training.interactions;
  const interactions = Array.from({ length: columns.length }, (_, n) => ({
    user: columns.userIds[columns.user[n]],
    item: columns.itemIds[columns.item[n]],
    timestamp: columns.time[n],
    rating: columns.value[n],
  }));
  return { ...training, interactions };
}

/** Columns over interactions already in memory, with the catalog's items first in the id table. */
export function interactionColumns(
  interactions: readonly Interaction[],
  catalog: readonly string[] = [],
): InteractionColumns {
  const userPlace = new Map<string, number>();
  const itemPlace = new Map(catalog.map((id, n) => [id, n]));
  const place = (places: Map<string, number>, id: string) => {
    const known = places.get(id);
    if (known !== undefined) return known;
    places.set(id, places.size);
    return places.size - 1;
  };
  const columns = {
    length: interactions.length,
    user: Uint32Array.from(interactions, (x) => place(userPlace, x.user)),
    item: Uint32Array.from(interactions, (x) => place(itemPlace, x.item)),
    time: Float64Array.from(interactions, (x) => x.timestamp),
    value: Float32Array.from(interactions, (x) => x.rating ?? 0),
  };
  return { ...columns, userIds: [...userPlace.keys()], itemIds: [...itemPlace.keys()] };
}
