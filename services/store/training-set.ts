/** What training reads from the interaction store: interactions with ids, and side information. */
import type { ItemContent } from '../models/two-tower/features';
import type { Demographics, Interaction } from '../models/types';
import type { InteractionStore } from './interaction-store';

export interface TrainingSet {
  interactions: Interaction[];
  /** Every item in the catalog, interacted with or not: the index must hold them all. */
  items: string[];
  /** Users whose demographics are complete enough for cohorts. */
  demographics: Map<string, Demographics>;
  /** What the item tower reads: title, year, categories. */
  itemContent: Map<string, ItemContent>;
}

export async function readTrainingSet(store: InteractionStore): Promise<TrainingSet> {
  const interactions: Interaction[] = [];
  await store.scanInteractions((r) =>
    interactions.push({
      user: store.userIds[r.user],
      item: store.itemIds[r.item],
      // Seconds, as in the published datasets, so exported splits compare with other tools.
      timestamp: Math.floor(r.occurredAt / 1000),
      rating: r.value,
    }),
  );
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
