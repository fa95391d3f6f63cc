/**
 * Activities of the MovieLens slice: read the validated dataset, put its interactions on the
 * event log, and index its items into the catalog. Each is idempotent: event ids and document
 * ids are derived from the data, so a retried activity rewrites the same records.
 */

import type { Client as SearchClient } from '@elastic/elasticsearch';
import { heartbeat } from '@temporalio/activity';
import type { Kafka } from 'kafkajs';
import type { Interaction } from '../schemas/events';
import type { RatingRow } from '../schemas/movielens';
import { type CatalogDocument, catalogIndex, ensureCatalogIndex } from '../services/catalog/elasticsearch';
import { loadMovieLens } from '../services/data/movielens';
import { ensureTopics, topics } from '../services/events/topics';

export interface MovieLensActivityDeps {
  kafka: Kafka;
  search: SearchClient;
}

export interface DatasetRef {
  dataDir: string;
}

const publishBatch = 5_000;

export function ratingToInteraction(row: RatingRow): Interaction {
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

export function createMovieLensActivities({ kafka, search }: MovieLensActivityDeps) {
  return {
    async prepareEventLog(): Promise<string[]> {
      const admin = kafka.admin();
      await admin.connect();
      try {
        return await ensureTopics(admin);
      } finally {
        await admin.disconnect();
      }
    },

    async publishMovieLensInteractions({ dataDir }: DatasetRef): Promise<number> {
      const { ratings } = await loadMovieLens(dataDir);
      const ordered = [...ratings].sort((a, b) => a.timestamp - b.timestamp);
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      try {
        for (let start = 0; start < ordered.length; start += publishBatch) {
          const messages = ordered.slice(start, start + publishBatch).map((row) => {
            const event = ratingToInteraction(row);
            return { key: event.userId, value: JSON.stringify(event) };
          });
          await producer.send({ topic: topics.interactions, acks: -1, messages });
          heartbeat(start + messages.length);
        }
      } finally {
        await producer.disconnect();
      }
      return ordered.length;
    },

    async indexMovieLensCatalog({ dataDir }: DatasetRef): Promise<number> {
      const { items } = await loadMovieLens(dataDir);
      await ensureCatalogIndex(search);
      const documents: CatalogDocument[] = items.map((item) => ({
        itemId: item.item,
        title: item.title,
        categories: item.genres,
        year: item.year,
        text: '',
        qualityFlags: item.year === null ? ['missing_metadata'] : [],
        status: 'active',
        updatedAt: 0,
      }));
      const result = await search.helpers.bulk({
        datasource: documents,
        onDocument: (doc) => ({ index: { _index: catalogIndex, _id: doc.itemId } }),
        refreshOnCompletion: catalogIndex,
        onDrop: (dropped) => {
          throw new Error(
            `catalog document ${dropped.document.itemId} rejected: ${JSON.stringify(dropped.error)}`,
          );
        },
      });
      heartbeat(result.successful);
      return result.successful;
    },
  };
}

export type MovieLensActivities = ReturnType<typeof createMovieLensActivities>;
