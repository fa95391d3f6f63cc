import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasMl100k, readInteractions } from '../../bench/models/movielens-files';
import { PROTOCOLS, type Split, splitInteractions, validationSplit } from '../../services/evaluation/splits';
import { mulberry32 } from '../../services/models/random';
import type { Interaction } from '../../services/models/types';

function syntheticLog(users: number, seed: number): Interaction[] {
  const random = mulberry32(seed);
  const log: Interaction[] = [];
  for (let u = 0; u < users; u++) {
    const n = 1 + Math.floor(random() * 40);
    for (let j = 0; j < n; j++) {
      // Repeats and same-second ties on purpose.
      const item = `i${Math.floor(random() * 60)}`;
      log.push({
        user: `u${u}`,
        item,
        timestamp: 1000 + Math.floor(random() * 50),
        rating: 1 + Math.floor(random() * 5),
      });
    }
  }
  return log;
}

const pairsOf = (rows: readonly Interaction[]) => new Set(rows.map((x) => `${x.user}\t${x.item}`));

function assertDisjoint(a: readonly Interaction[], b: readonly Interaction[], what: string): void {
  const seen = pairsOf(a);
  for (const x of b)
    assert.ok(!seen.has(`${x.user}\t${x.item}`), `${what}: (${x.user}, ${x.item}) on both sides`);
}

/** The guarantee the offline evaluation relies on: test pairs never reach training or tuning. */
function assertNoTestLeak(split: Split, validation: Split): void {
  assertDisjoint(split.train, split.test, 'train/test');
  assertDisjoint(validation.train, split.test, 'validation-train/test');
  assertDisjoint(validation.test, split.test, 'validation-test/test');
  assertDisjoint(validation.train, validation.test, 'validation-train/validation-test');
  const train = pairsOf(split.train);
  for (const x of [...validation.train, ...validation.test]) assert.ok(train.has(`${x.user}\t${x.item}`));
}

describe('splits', () => {
  const log = syntheticLog(200, 11);

  for (const protocol of PROTOCOLS) {
    it(`${protocol}: is deterministic for a seed`, () => {
      assert.deepEqual(splitInteractions(protocol, log, 7), splitInteractions(protocol, log, 7));
    });

    it(`${protocol}: does not depend on input order`, () => {
      const reversed = [...log].reverse();
      assert.deepEqual(
        pairsOf(splitInteractions(protocol, reversed, 7).test),
        pairsOf(splitInteractions(protocol, log, 7).test),
      );
    });

    it(`${protocol}: keeps every user in train and never splits a (user, item) pair`, () => {
      const split = splitInteractions(protocol, log, 7);
      assertNoTestLeak(split, validationSplit(protocol, split.train, 7));
      const trainUsers = new Set(split.train.map((x) => x.user));
      for (const x of log) assert.ok(trainUsers.has(x.user));
    });
  }

  it('stratified: holds out round(25%) of each history, and the seed changes which', () => {
    const a = splitInteractions('stratified', log, 1);
    const b = splitInteractions('stratified', log, 2);
    const distinct = new Map<string, Set<string>>();
    for (const x of log) distinct.set(x.user, (distinct.get(x.user) ?? new Set()).add(x.item));
    const heldOut = new Map<string, number>();
    for (const x of a.test) heldOut.set(x.user, (heldOut.get(x.user) ?? 0) + 1);
    for (const [user, items] of distinct) {
      assert.equal(heldOut.get(user) ?? 0, Math.min(items.size - 1, Math.round(items.size * 0.25)), user);
    }
    assert.notDeepEqual(pairsOf(a.test), pairsOf(b.test));
  });

  it('temporal: every held-out interaction is no earlier than the same user’s training ones', () => {
    const split = splitInteractions('temporal', log, 1);
    const lastTrain = new Map<string, number>();
    for (const x of split.train) lastTrain.set(x.user, Math.max(lastTrain.get(x.user) ?? -1, x.timestamp));
    for (const x of split.test) assert.ok(x.timestamp >= lastTrain.get(x.user)!, `${x.user} ${x.item}`);
  });

  it('a one-interaction user stays entirely in train', () => {
    const split = splitInteractions('stratified', [{ user: 'solo', item: 'x', timestamp: 1 }], 1);
    assert.equal(split.train.length, 1);
    assert.equal(split.test.length, 0);
  });

  it('ML-100K: no test pair in train, validation-train or validation-test', { skip: !hasMl100k() }, () => {
    const interactions = readInteractions();
    for (const protocol of PROTOCOLS) {
      const split = splitInteractions(protocol, interactions, 42);
      assert.equal(split.train.length + split.test.length, 100_000);
      assertNoTestLeak(split, validationSplit(protocol, split.train, 42));
    }
  });
});
