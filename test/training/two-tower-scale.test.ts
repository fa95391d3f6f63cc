import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32 } from '../../services/models/random';
import type { SideInformation } from '../../services/models/two-tower/features';
import { TwoTower } from '../../services/models/two-tower/model';
import type { Demographics, Interaction } from '../../services/models/types';
import { interactionColumns } from '../../services/store/training-set';
import { holdoutSplit, snapshotMatrix } from '../../services/training/candidate-training';
import {
  newUserMaxUsers,
  releaseTwoTowerParams,
  trainTwoTowerRelease,
  twoTowerFiles,
} from '../../services/training/two-tower-release';

/** More items than one forward run takes (65,536), 1,600 users of 12 interactions in 8 cohorts. */
function wideCatalog() {
  const items = 70_000;
  const random = mulberry32(3);
  const ids = Array.from({ length: items }, (_, i) => `i${i}`);
  const demographics = new Map<string, Demographics>();
  const log: Interaction[] = [];
  for (let u = 0; u < 1_600; u++) {
    demographics.set(`u${u}`, { age: 20 + 10 * (u % 4), gender: u % 2 ? 'M' : 'F', occupation: 'other' });
    for (let k = 0; k < 12; k++)
      log.push({
        user: `u${u}`,
        item: ids[Math.floor(items * random() ** 3)],
        timestamp: 1_000 + 60 * k + u,
      });
  }
  const side: SideInformation = {
    demographics,
    content: new Map(
      ids.map((id, i) => [id, { title: `film ${i}`, year: 1950 + (i % 60), genres: [`g${i % 7}`] }]),
    ),
  };
  return { columns: interactionColumns(log, ids), side, items };
}

test('the two-tower family trains over a catalog of 70,000 items, its gate on a sample of held-out users', async (t) => {
  const { columns, side, items } = wideCatalog();
  const { spec, files } = await trainTwoTowerRelease(
    () => ({ snapshot: snapshotMatrix(columns), holdout: holdoutSplit(columns, 7) }),
    side,
    7,
    2,
  );
  t.diagnostic(spec.reason);
  assert.ok('holdout' in spec, `trained: ${spec.reason}`);
  assert.equal(spec.newUsers.users, newUserMaxUsers, 'the gate measured a sample of the held-out users');
  assert.ok(spec.holdout.users > 0 && spec.holdout.ndcgAt10 >= 0);
  assert.equal(files[twoTowerFiles.itemVectors].byteLength, items * releaseTwoTowerParams.outputDim * 4);
});

test('item vectors computed in chunks equal the exported item tower’s, across the chunk boundary', async (t) => {
  const { columns, side } = wideCatalog();
  const matrix = snapshotMatrix(columns);
  const model = new TwoTower(
    {
      embeddingDim: 8,
      hiddenDim: 16,
      outputDim: 8,
      temperature: 0.2,
      learningRate: 0.01,
      epochs: 1,
      batchSize: 512,
      historyLength: 5,
      trainingHistory: 'leave-one-out',
      itemIdDropout: 0.2,
      threads: 1,
    },
    side,
  );
  await model.fit(matrix);
  const server = await model.towerServer();
  const rows = Int32Array.from([0, 65_535, 65_536, matrix.nItems - 1]);
  const exported = await server.embedItems(rows);
  let worst = 0;
  rows.forEach((item, r) => {
    for (let k = 0; k < 8; k++)
      worst = Math.max(worst, Math.abs(exported[r * 8 + k] - model.fitted.itemVectors[item * 8 + k]));
  });
  t.diagnostic(`max |exported − chunked forward| ${worst.toExponential(2)}`);
  assert.ok(worst <= 1e-5, `differs by ${worst}`);
});
