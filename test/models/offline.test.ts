import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { product } from '../../services/evaluation/grid-search';
import { type OfflineOptions, runOfflineEvaluation } from '../../services/evaluation/offline';
import { PROTOCOLS } from '../../services/evaluation/splits';
import { Ease } from '../../services/models/ease';
import { Ials } from '../../services/models/ials';
import { type InteractionMatrix, itemsOfUser } from '../../services/models/interaction-matrix';
import { CohortPopularity, GlobalPopularity } from '../../services/models/popularity';
import { mulberry32 } from '../../services/models/random';
import type { CandidateModel, Demographics, Interaction } from '../../services/models/types';

const random = mulberry32(21);
const log: Interaction[] = [];
const demographics = new Map<string, Demographics>();
for (let u = 0; u < 60; u++) {
  const group = u % 3;
  demographics.set(`u${u}`, { age: 20 + group * 15, gender: u % 2 ? 'F' : 'M', occupation: `job${group}` });
  for (let i = 0; i < 40; i++) {
    const inGroup = Math.floor(i / 13) === group;
    if (random() < (inGroup ? 0.5 : 0.05))
      log.push({ user: `u${u}`, item: `i${i}`, timestamp: Math.floor(random() * 1000) });
  }
}

const options: OfflineOptions = {
  seed: 5,
  demographics,
  grids: {
    cohortPopularity: [{ shrinkage: 1 }],
    ease: product({ lambda: [1, 10], recencyHalfLife: [undefined, 5] }),
    ials: [{ factors: 4, lambda: 1, alpha: 5, epochs: 3 }],
    blendEaseWeight: [0, 0.5, 1],
  },
};

const MODELS = ['popularity', 'cohort-popularity', 'ease', 'ials', 'ease+ials'];

function spyOnFit(t: TestContext, prototype: CandidateModel, seen: InteractionMatrix[]): void {
  const original = prototype.fit;
  t.mock.method(prototype, 'fit', function (this: CandidateModel, train: InteractionMatrix) {
    seen.push(train);
    return original.call(this, train);
  });
}

describe('runOfflineEvaluation', () => {
  it('reports every metric for every model under both protocols', async () => {
    const result = await runOfflineEvaluation(log, options);
    assert.deepEqual(Object.keys(result.metrics), [...PROTOCOLS]);
    for (const protocol of PROTOCOLS) {
      assert.deepEqual(Object.keys(result.metrics[protocol]), MODELS);
      for (const row of Object.values(result.metrics[protocol])) {
        assert.deepEqual(Object.keys(row), ['ndcg@10', 'recall@10', 'precision@10', 'map@10', 'coverage@10']);
        for (const value of Object.values(row)) assert.ok(value >= 0 && value <= 1);
      }
      // Personalised models must beat a single global list on clustered data.
      assert.ok(result.metrics[protocol].ease['ndcg@10'] > result.metrics[protocol].popularity['ndcg@10']);
    }
  });

  it('returns each model’s top-10 per test user, never repeating a training item', async () => {
    const result = await runOfflineEvaluation(log, { ...options, protocols: ['stratified'] });
    const { split, models } = result.protocols.stratified;
    const trained = new Set(split.train.map((x) => `${x.user}\t${x.item}`));
    const testUsers = new Set(split.test.map((x) => x.user));
    for (const name of MODELS) {
      const recommendations = models[name].recommendations;
      assert.deepEqual(new Set(recommendations.keys()), testUsers);
      for (const [user, items] of recommendations) {
        assert.equal(items.length, 10);
        for (const item of items)
          assert.ok(!trained.has(`${user}\t${item}`), `${name} re-recommends ${user} ${item}`);
      }
    }
  });

  for (const protocol of PROTOCOLS) {
    it(`${protocol}: no model is ever fitted on a test pair, in tuning or in the final refit`, async (t) => {
      const seen: InteractionMatrix[] = [];
      for (const prototype of [
        Ease.prototype,
        Ials.prototype,
        GlobalPopularity.prototype,
        CohortPopularity.prototype,
      ]) {
        spyOnFit(t, prototype, seen);
      }
      const result = await runOfflineEvaluation(log, { ...options, protocols: [protocol] });
      const { split } = result.protocols[protocol];
      assert.ok(seen.length > 0);
      for (const m of seen) {
        const pairs = new Set<string>();
        for (let u = 0; u < m.nUsers; u++)
          for (const i of itemsOfUser(m, u)) pairs.add(`${m.users.ids[u]}\t${m.items.ids[i]}`);
        for (const x of split.test)
          assert.ok(!pairs.has(`${x.user}\t${x.item}`), `test pair (${x.user}, ${x.item}) in a fit`);
      }
      // Tuning fits see strictly less than the final refits.
      const sizes = new Set(seen.map((m) => m.nnz));
      assert.equal(sizes.size, 2);
      assert.equal(Math.max(...sizes), split.train.length);
    });
  }
});
