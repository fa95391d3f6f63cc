/** Events and a throw-away store for the interaction-store tests. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StreamEvent } from '../../services/events/validation';
import { InteractionStore } from '../../services/store/interaction-store';

export const t0 = Date.UTC(2024, 0, 1);
export const user = (id: string): StreamEvent => ({
  stream: 'users',
  event: { eventId: `u:${id}`, type: 'user_created', userId: id, occurredAt: t0, demographics: {} },
});
export const item = (id: string, categories: string[], title = id): StreamEvent => ({
  stream: 'catalog',
  event: {
    eventId: `i:${id}`,
    type: 'item_created',
    itemId: id,
    occurredAt: t0,
    title,
    categories,
    year: 2000,
    text: '',
    qualityFlags: [],
  },
});
export const click = (u: string, i: string, n: number): StreamEvent => ({
  stream: 'interactions',
  event: {
    eventId: `c:${u}:${i}:${n}`,
    type: 'click',
    userId: u,
    itemId: i,
    occurredAt: t0 + n,
    surface: 'homepage',
  },
});

/** Two users, two items, three clicks and a slate of two impressions. */
export const events: StreamEvent[] = [
  user('ann'),
  user('bob'),
  item('x', ['drama']),
  item('y', ['drama', 'comedy']),
  click('ann', 'x', 1),
  click('ann', 'y', 2),
  click('bob', 'y', 3),
  {
    stream: 'impressions',
    event: {
      slateId: 's1',
      userId: 'bob',
      surface: 'homepage',
      servedAt: t0,
      variant: 'control',
      modelVersions: { ranker: 'v1' },
      items: [
        { itemId: 'x', position: 0, score: 0.9, propensity: 0.5 },
        { itemId: 'y', position: 1, score: 0.8, propensity: 0.5 },
      ],
    },
  },
];

const tempDirs: string[] = [];

/** A store in a new temporary directory, removed by `removeTempStores`. */
export async function tempStore(): Promise<InteractionStore> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-store-'));
  tempDirs.push(dir);
  return InteractionStore.open(dir);
}

export async function removeTempStores(): Promise<void> {
  for (const dir of tempDirs.splice(0)) await rm(dir, { recursive: true, force: true });
}
