/**
 * MovieLens rows as v1 events. Event ids are derived from the data, so replaying the dataset
 * produces the same ids and every consumer recognises what it already applied.
 */
import type { CatalogEvent, Interaction, UserEvent } from '../../schemas/events';
import type { ItemRow, RatingRow, UserRow } from '../../schemas/movielens';

export function userCreated(row: UserRow, occurredAt: number): UserEvent {
  return {
    eventId: `ml100k:user:${row.user}`,
    type: 'user_created',
    userId: row.user,
    occurredAt,
    demographics: { age: row.age, gender: row.gender, occupation: row.occupation, zip: row.zip },
  };
}

export function itemCreated(row: ItemRow, occurredAt: number): CatalogEvent {
  return {
    eventId: `ml100k:item:${row.item}`,
    type: 'item_created',
    itemId: row.item,
    occurredAt,
    title: row.title,
    categories: row.genres,
    year: row.year,
    text: '',
    qualityFlags: row.year === null ? ['missing_metadata'] : [],
  };
}

export function ratingInteraction(row: RatingRow): Interaction {
  return {
    eventId: `ml100k:rating:${row.user}:${row.item}`,
    type: 'rating',
    userId: row.user,
    itemId: row.item,
    value: row.rating,
    occurredAt: row.timestamp * 1000,
    surface: 'import',
  };
}
