import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildInteractionMatrix, indexInteractions } from '../../services/models/interaction-matrix';
import type { CandidateModel, Demographics, Interaction } from '../../services/models/types';
import {
  type CatalogItem,
  FactorMoments,
  RankingFeatures,
  ratingsOf,
  SignalScores,
  TREND_WINDOW_SECONDS,
} from '../../services/ranking/features';

const DAY = 86_400;
const train: Interaction[] = [
  { user: 'a', item: 'i1', rating: 5, timestamp: 100 },
  { user: 'a', item: 'i2', rating: 3, timestamp: 200 },
  { user: 'b', item: 'i1', rating: 4, timestamp: 150 },
  { user: 'b', item: 'i3', rating: 2, timestamp: 40 * DAY },
  { user: 'c', item: 'i2', rating: 1, timestamp: 300 },
];
/** Held out: it shares the id space but must not reach any statistic. */
const heldOut: Interaction[] = [{ user: 'c', item: 'i4', rating: 5, timestamp: 400 }];

const catalog = new Map<string, CatalogItem>([
  ['i1', { year: 1990, genres: ['Drama'] }],
  ['i2', { year: 2000, genres: ['Comedy', 'Drama'] }],
  ['i3', { year: null, genres: ['Horror'] }],
  ['i4', { year: 1995, genres: ['Comedy'] }],
]);
const demographics = new Map<string, Demographics>([
  ['a', { age: 30, gender: 'F', occupation: 'writer' }],
  ['b', { age: 40, gender: 'M', occupation: 'artist' }],
]);

const index = indexInteractions([...train, ...heldOut]);
const matrix = buildInteractionMatrix(train, index.users, index.items);
const features = new RankingFeatures({
  train: matrix,
  ratings: ratingsOf(train, matrix),
  catalog,
  demographics,
  signals: ['ease'],
});

/** Scores items i1..i4 as 4, 3, 2, 1 for everyone. */
const fixedScores: CandidateModel = {
  name: 'fixed',
  fit: () => {},
  scoreUser: (_user, out) => out.set([4, 3, 2, 1]),
};

function rowsFor(user: string, items: string[]): Record<string, number>[] {
  const u = index.users.require(user);
  const candidates = items.map((i) => index.items.require(i));
  const out = new Float32Array(candidates.length * features.names.length);
  const signal = SignalScores.of(fixedScores, u, matrix);
  features.fill(u, candidates, [signal], features.replayContext(u, 'search'), out);
  return candidates.map((_, c) =>
    Object.fromEntries(features.names.map((name, f) => [name, out[c * features.names.length + f]])),
  );
}

const close = (actual: number, expected: number) =>
  assert.ok(Math.abs(actual - expected) < 1e-5, `${actual} ≠ ${expected}`);

describe('ranking features', () => {
  it('lays out base, genre and per-signal columns', () => {
    assert.deepEqual(features.names.slice(-6), [
      'genre_Comedy',
      'genre_Drama',
      'genre_Horror',
      'ease_score',
      'ease_rank',
      'ease_gap',
    ]);
  });

  it('describes the user from demographics and training history only', () => {
    const [row] = rowsFor('a', ['i3']);
    assert.equal(row.user_age, 30);
    assert.equal(row.user_gender, 1);
    assert.equal(row.user_occupation, 1, 'occupations are coded in sorted order: artist, writer');
    close(row.user_activity, 2 / (5 / 3));
    assert.equal(row.user_mean_rating, 4);
    assert.equal(row.user_mean_item_year, 1995);
    const [anonymous] = rowsFor('c', ['i3']);
    assert.ok(Number.isNaN(anonymous.user_age) && Number.isNaN(anonymous.user_occupation));
  });

  it('describes the item from training interactions, with NaN where nothing is known', () => {
    const [i3, i4] = rowsFor('a', ['i3', 'i4']);
    close(i3.item_popularity, 1 / (5 / 4));
    assert.equal(i3.item_mean_rating, 2);
    assert.ok(Number.isNaN(i3.item_year) && Number.isNaN(i3.item_year_gap));
    assert.equal(i4.item_popularity, 0);
    assert.ok(Number.isNaN(i4.item_mean_rating), "the held-out 5 for i4 must not leak into i4's mean");
    assert.equal(i4.item_year, 1995);
    assert.equal(i4.item_year_gap, 0);
    assert.deepEqual([i4.genre_Comedy, i4.genre_Drama, i4.genre_Horror], [1, 0, 0]);
  });

  it("crosses the item's genres with the user's genre shares", () => {
    // a's history: i1 (Drama), i2 (Comedy, Drama): Comedy 1/2, Drama 2/2, Horror 0.
    const [i3, i4] = rowsFor('a', ['i3', 'i4']);
    assert.equal(i3.genre_affinity_mean, 0);
    assert.equal(i4.genre_affinity_mean, 0.5);
    assert.equal(i4.genre_affinity_max, 0.5);
    const [i2] = rowsFor('b', ['i2']);
    assert.equal(i2.genre_affinity_mean, (0 + 0.5) / 2);
    assert.equal(i2.genre_affinity_max, 0.5);
  });

  it('takes the request context and trend from the replayed request time', () => {
    // a's request is at t=200: the window holds t=100, 150 and 200, two of them on i1; i3's
    // only interaction comes later and does not count.
    const [i1, i3] = rowsFor('a', ['i1', 'i3']);
    assert.equal(i1.context_surface, 3, "'search' is the fourth surface");
    assert.equal(i1.context_hour, 0);
    close(i1.item_trend, 2 / (3 / 4));
    assert.equal(i3.item_trend, 0);
    // b's request is at day 40: the window starts after day 10, so only i3's interaction is in it.
    assert.ok(40 * DAY - TREND_WINDOW_SECONDS > 150);
    const [bI1, bI3] = rowsFor('b', ['i1', 'i3']);
    assert.equal(bI1.item_trend, 0);
    assert.equal(bI3.item_trend, 1 / (1 / 4));
    assert.equal(bI3.context_hour, 0);
  });

  it('standardises signal scores over the catalogue and ranks them among the candidates', () => {
    const [i3, i4] = rowsFor('a', ['i3', 'i4']);
    const std = Math.sqrt(1.25);
    close(i3.ease_score, (2 - 2.5) / std);
    close(i4.ease_score, (1 - 2.5) / std);
    assert.equal(i3.ease_rank, 0, 'i1 and i2 score higher but are not candidates');
    assert.equal(i4.ease_rank, 1);
    assert.equal(i3.ease_gap, 0);
    close(i4.ease_gap, -1 / std);
    const [late, early, tied] = rowsFor('b', ['i4', 'i1', 'i4']);
    assert.deepEqual([late.ease_rank, early.ease_rank, tied.ease_rank], [1, 0, 1], 'ties share a rank');
  });

  it("standardises a factor model's scores from its item factors' moments as over the scored catalogue", async () => {
    const dims = 8;
    const items = 300;
    let seed = 7;
    const random = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647 - 0.5;
    };
    // Offset and correlated columns: a centred, isotropic catalogue would hide a wrong covariance.
    const vectors = Float32Array.from({ length: (items + 5) * dims }, (_, n) => random() + (n % dims) * 0.1);
    for (let i = 0; i < items; i++) vectors[i * dims + 1] += 2 * vectors[i * dims];
    const moments = FactorMoments.of(vectors, dims, items);
    const sliced = await FactorMoments.yielding(vectors, dims, items, 7);
    for (let u = 0; u < 5; u++) {
      const user = Float32Array.from({ length: dims }, random);
      const scores = new Float32Array(items);
      for (let i = 0; i < items; i++)
        for (let d = 0; d < dims; d++) scores[i] += user[d] * vectors[i * dims + d];
      const scored = SignalScores.over(scores);
      const factored = SignalScores.ofFactors(user, vectors, moments);
      assert.equal(sliced.mean(user), moments.mean(user));
      assert.equal(sliced.variance(user), moments.variance(user));
      for (const item of [0, 17, 299]) {
        close(factored.score(item), scores[item]);
        close(factored.standardised(item), scored.standardised(item));
      }
    }
  });
});
