/**
 * How many of the blend's candidates the ranker scores (`pipeline.rankerCandidates`), chosen on
 * validation, never on the test split. The release's pipeline (`evaluateReleasePipeline`) is
 * fitted on ML-100K's temporal train period alone, so its own temporal split of that period
 * makes the later part of it the validation period. The serving pipeline (every generator,
 * exploration off) then serves each validation user at several depths: NDCG@10 on the
 * validation period's items, the pipeline's CPU per request and the rank stage's mean time.
 * Run: `npx tsx bench/serving/ranker-depth.ts [depth,depth,…]`.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { recommendRequestSchema } from '../../schemas/recommend';
import { readSettings } from '../../services/config/environment';
import { loadMovieLens } from '../../services/data/movielens';
import { summariseTopK } from '../../services/evaluation/metrics';
import { relevanceOf } from '../../services/evaluation/ranking';
import { splitInteractions } from '../../services/evaluation/splits';
import { Ials } from '../../services/models/ials';
import { indexInteractions } from '../../services/models/interaction-matrix';
import type { Interaction } from '../../services/models/types';
import type { FittedPipeline } from '../../services/ranking/pipeline-evaluation';
import { runPipeline } from '../../services/serving/pipeline';
import { OnnxRankingStage } from '../../services/serving/rank/onnx-ranker';
import type { TrainingSet } from '../../services/store/training-set';
import { trainingConfigSchema } from '../../services/training/config';
import { evaluateReleasePipeline } from '../../services/training/release-ranker';
import { fittedHotState, movieLensCatalog, offlinePipelineDeps } from '../data/movielens-serving-state';

const k = 10;
const seed = 42;
const depths = (process.argv[2] ?? '25,50,75,100,150,200,2000').split(',').map(Number);

async function main(): Promise<void> {
  const data = await loadMovieLens(join(readSettings().cacheDir, 'data', 'ml-100k'));
  const all: Interaction[] = data.ratings.map((r) => ({
    user: r.user,
    item: r.item,
    timestamp: r.timestamp,
    rating: r.rating,
  }));
  // The test period is never read: everything below sees the train period only.
  const trainPeriod = splitInteractions('temporal', all, seed).train;
  const training: TrainingSet = {
    interactions: trainPeriod,
    items: data.items.map((i) => i.item),
    demographics: new Map(data.users.map((u) => [u.user, u])),
    itemContent: new Map(data.items.map((i) => [i.item, i])),
  };
  const ials = trainingConfigSchema.parse({}).ials;
  let fitted: (Omit<FittedPipeline, 'ranker'> & { onnx: Uint8Array }) | undefined;
  const evaluation = await evaluateReleasePipeline(training, ials, seed, availableParallelism(), {
    log: (line) => console.error(`  ${line}`),
    onRanker: (_, { ranker, ...models }) => {
      fitted = { ...models, onnx: ranker.toScoringOnnx() };
    },
  });
  if (fitted === undefined || !(fitted.generator instanceof Ials))
    throw new Error('the pipeline evaluation kept no iALS generator and ranker');
  const { generator, features, onnx } = fitted;
  const train = features.train;
  console.log(
    `offline, validation period: NDCG@${k} generator ${evaluation.temporal.metrics.generator[`ndcg@${k}`].toFixed(4)}, ranker over its top 200 ${evaluation.temporal.metrics.ranker[`ndcg@${k}`].toFixed(4)}`,
  );

  const state = fittedHotState(generator, train, ials.factors, 'ranker-depth', movieLensCatalog(data));
  const stage = await OnnxRankingStage.load({ onnx, tables: features.tables }, 1_024, state.items);
  const validation = splitInteractions('temporal', trainPeriod, seed);
  const index = indexInteractions(trainPeriod);
  const relevant = relevanceOf(validation.test, index.users, index.items);
  try {
    for (const depth of [0, ...depths]) {
      const deps = offlinePipelineDeps({
        pipeline: depth === 0 ? { ranker: false } : { rankerCandidates: depth },
      });
      const served: { ranked: Int32Array; relevant: ReadonlySet<number> }[] = [];
      let rankMs = 0;
      const cpu = process.cpuUsage();
      for (const [user, items] of relevant) {
        const request = recommendRequestSchema.parse({ userId: index.users.ids[user], k });
        const result = await runPipeline(request, { ...state, ranker: stage }, deps);
        if (!result.ok) throw new Error(`${request.userId}: ${result.error.message}`);
        rankMs += result.slate.timings.rank;
        served.push({
          ranked: Int32Array.from(result.slate.items, (i) => train.items.require(i.itemId)),
          relevant: items,
        });
      }
      const { user, system } = process.cpuUsage(cpu);
      const cpuMs = (user + system) / 1000 / served.length;
      const ndcg = summariseTopK(served, k, train.nItems).ndcg;
      console.log(
        `${depth === 0 ? 'blend, no ranker' : `ranker over ${depth}`}`.padEnd(20) +
          `NDCG@${k} ${ndcg.toFixed(4)}  CPU ${cpuMs.toFixed(2)} ms/request, rank stage ${(rankMs / served.length).toFixed(2)} ms (wall)  (${served.length} validation users)`,
      );
    }
  } finally {
    await stage.release();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
