/**
 * The serving replica's rank stage in isolation: a ranker trained on an ML-100K-sized synthetic
 * history (943 users, 100,000 interactions) over `items` items (1,682 by default) with the
 * release's tree settings, 200 candidates per request (or `timedRows`), timed per request and
 * split into the features (the iALS signal and the feature rows) and `session.run`.
 * Run: `npx tsx bench/serving/rank-stage.ts [requests] [timedRows] [items]`.
 */
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { recommendRequestSchema } from '../../schemas/recommend';
import {
  buildInteractionMatrix,
  indexInteractions,
  itemsOfUser,
} from '../../services/models/interaction-matrix';
import { mulberry32 } from '../../services/models/random';
import type { Interaction } from '../../services/models/types';
import { decodeFeatureTables, encodeFeatureTables } from '../../services/ranking/feature-tables-artifact';
import {
  FactorMoments,
  fillFeatureRows,
  RankingFeatures,
  ratingsOf,
  SignalScores,
} from '../../services/ranking/features';
import { ONNX_INPUT } from '../../services/ranking/onnx-export';
import { Ranker, trainHead } from '../../services/ranking/ranker';
import type { Candidate, RequestContext } from '../../services/serving/candidates';
import { buildHotState } from '../../services/serving/hot-state';
import { LiveCatalog } from '../../services/serving/live-catalog';
import { OnnxRankingStage, rankerSessionOptions } from '../../services/serving/rank/onnx-ranker';
import { parseServingConfig } from '../../services/serving/serving-config';
import { rankerCandidates, rankerSignals, releaseTreeGrid } from '../../services/training/release-ranker';

const nUsers = 943;
const nItems = Number(process.argv[4] ?? 1_682);
const nInteractions = 100_000;
const dims = 64;
const trainingUsers = 150;
const requests = Number(process.argv[2] ?? 300);
/** Candidates per timed request; the ranker is trained on `rankerCandidates` per user whatever this is. */
const timedRows = Number(process.argv[3] ?? rankerCandidates);
const random = mulberry32(7);

const interactions: Interaction[] = [];
for (let n = 0; n < nInteractions; n++) {
  // Skewed item popularity, as in MovieLens.
  const item = Math.floor(nItems * random() ** 2);
  interactions.push({
    user: `u${n % nUsers}`,
    item: `i${item}`,
    rating: 1 + Math.floor(random() * 5),
    timestamp: 880_000_000 + n * 600,
  });
}
const index = indexInteractions(interactions);
const matrix = buildInteractionMatrix(interactions, index.users, index.items);
const features = new RankingFeatures({
  train: matrix,
  ratings: ratingsOf(interactions, matrix),
  catalog: new Map(
    index.items.ids.map((id, i) => [
      id,
      { year: 1950 + (i % 48), genres: [`g${i % 18}`, `g${(i * 7) % 18}`] },
    ]),
  ),
  demographics: new Map(
    index.users.ids.map((id, u) => [
      id,
      { age: 18 + (u % 50), gender: u % 2 ? 'F' : 'M', occupation: `o${u % 21}` },
    ]),
  ),
  signals: [...rankerSignals],
});
const gaussian = () => (random() + random() + random() - 1.5) * 0.5;
const userVectors = Float32Array.from({ length: index.users.ids.length * dims }, gaussian);
const itemVectors = Float32Array.from({ length: index.items.ids.length * dims }, gaussian);
const seen = index.users.ids.map((_, u) => Array.from(itemsOfUser(matrix, u)));
const width = features.names.length;

const momentsStart = performance.now();
const moments = FactorMoments.of(itemVectors, dims, index.items.ids.length);
const momentsMs = performance.now() - momentsStart;

/** As the stage computes it. */
function signalOf(u: number): SignalScores {
  return SignalScores.ofFactors(userVectors.subarray(u * dims, (u + 1) * dims), itemVectors, moments);
}

function candidateItems(count = rankerCandidates): Int32Array {
  const picked = new Set<number>();
  while (picked.size < count) picked.add(Math.floor(random() * index.items.ids.length));
  return Int32Array.from(picked);
}

function trainedRanker(): Ranker {
  const values = new Float32Array(trainingUsers * rankerCandidates * width);
  const labels = new Float32Array(trainingUsers * rankerCandidates);
  for (let u = 0; u < trainingUsers; u++) {
    const signal = signalOf(u);
    const items = candidateItems();
    const offset = u * rankerCandidates * width;
    features.fill(u, items, [signal, signal], features.replayContext(u, 'homepage'), values, offset);
    for (let c = 0; c < rankerCandidates; c++) {
      const z = values[offset + c * width + width - 3];
      labels[u * rankerCandidates + c] = random() < 1 / (1 + Math.exp(-2 * z - 1)) ? 1 : 0;
    }
  }
  const rows = { values, rows: trainingUsers * rankerCandidates, columns: width, labels };
  const settings = releaseTreeGrid[0];
  return new Ranker(
    {
      interaction: trainHead({ settings, train: rows, seed: 1 }).booster,
      rating: trainHead({ settings, train: { ...rows, labels: labels.map((l) => 1 - l) }, seed: 2 }).booster,
    },
    { interaction: 1, rating: 0.5 },
    features.names,
  );
}

function summary(label: string, ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  const mean = ms.reduce((s, x) => s + x, 0) / ms.length;
  const p99 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))];
  return `${label.padEnd(26)} mean ${mean.toFixed(2)} ms  p50 ${sorted[sorted.length >> 1].toFixed(2)} ms  p99 ${p99.toFixed(2)} ms`;
}

async function main(): Promise<void> {
  const trainStart = performance.now();
  const ranker = trainedRanker();
  const onnx = ranker.toScoringOnnx();
  ranker.dispose();
  console.log(
    `ranker: ${releaseTreeGrid[0].maxRounds} rounds × 2 heads, depth ${releaseTreeGrid[0].maxDepth}, ${width} features, ${(onnx.length / 1e6).toFixed(1)} MB, trained in ${((performance.now() - trainStart) / 1000).toFixed(1)} s`,
  );
  const state = buildHotState(
    {
      family: 'retrieval',
      version: 'bench',
      dims,
      itemIds: [...index.items.ids],
      itemVectors,
      userIds: [...index.users.ids],
      userVectors,
      seen,
    },
    new LiveCatalog(),
    'idx',
  );
  const tables = decodeFeatureTables(encodeFeatureTables(features.tables));
  const stage = await OnnxRankingStage.load({ onnx, tables }, 1_024, state.items);
  const session = await ort.InferenceSession.create(onnx, rankerSessionOptions);
  const params = parseServingConfig({ pipeline: {} }).pipeline;
  const users = Array.from({ length: requests }, () => Math.floor(random() * index.users.ids.length));
  const batches = users.map(() => candidateItems(timedRows));
  const timings = { stage: [] as number[], features: [] as number[], run: [] as number[] };
  const buffer = new Float32Array(timedRows * width);
  try {
    for (let warm = 0; warm < 2; warm++) {
      const record = warm === 1;
      for (const [r, u] of users.entries()) {
        const request = recommendRequestSchema.parse({ userId: index.users.ids[u] });
        const context: RequestContext = { request, state, params, user: u, recent: [], interests: [] };
        const candidates: Candidate[] = Array.from(batches[r], (item) => ({
          item,
          score: 0,
          sources: new Map(),
          exploration: false,
          propensity: 1,
        }));
        let t = performance.now();
        await stage.rank(context, candidates);
        if (record) timings.stage.push(performance.now() - t);

        t = performance.now();
        const signal = signalOf(u);
        fillFeatureRows(
          tables,
          u,
          batches[r],
          [signal, signal],
          { surface: 'homepage', time: tables.userLastTime[u] },
          buffer,
        );
        if (record) timings.features.push(performance.now() - t);
        t = performance.now();
        await session.run({ [ONNX_INPUT]: new ort.Tensor('float32', buffer, [timedRows, width]) });
        if (record) timings.run.push(performance.now() - t);
      }
    }
  } finally {
    await stage.release();
    await session.release();
  }
  console.log(
    `${index.items.ids.length} items × ${dims} dims: item-vector moments in ${momentsMs.toFixed(0)} ms (once per release)`,
  );
  console.log(`${requests} requests × ${timedRows} candidates (after one warm-up pass)`);
  console.log(summary('rank stage (whole)', timings.stage));
  console.log(summary('  signal + feature rows', timings.features));
  console.log(summary('  session.run', timings.run));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
