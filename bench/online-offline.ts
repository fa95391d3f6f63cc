/**
 * Online and offline agree: the pipeline `cairn eval --pipeline` evaluates (the release's iALS as
 * generator → top-200 → ranker → top-10) on the temporal protocol of the interaction store, then
 * the very models it fitted on that protocol's train split, served through NATS by the serving
 * responder (in-process exact search, the ann generator alone, exploration and post-processing
 * off), for every user of the test split. Both lists are scored by the same metric code.
 */
import { availableParallelism } from 'node:os';
import { connect } from '@nats-io/transport-node';
import type { RecommendResponse } from '../schemas/recommend';
import type { CairnSettings } from '../services/config/environment';
import { summariseTopK } from '../services/evaluation/metrics';
import { relevanceOf } from '../services/evaluation/ranking';
import { splitInteractions } from '../services/evaluation/splits';
import { Ials } from '../services/models/ials';
import { indexInteractions } from '../services/models/interaction-matrix';
import type { FittedPipeline } from '../services/ranking/pipeline-evaluation';
import { exactSearch, FallbackSearch } from '../services/serving/item-search';
import { LiveCatalog } from '../services/serving/live-catalog';
import { OnnxRankingStage } from '../services/serving/rank/onnx-ranker';
import { Responder } from '../services/serving/responder';
import { parseServingConfig } from '../services/serving/serving-config';
import { variantsOf } from '../services/serving/variants';
import { InteractionStore } from '../services/store/interaction-store';
import { readTrainingSet } from '../services/store/training-set';
import { trainingConfigSchema } from '../services/training/config';
import { evaluateReleasePipeline, rankerCandidates } from '../services/training/release-ranker';
import { fittedHotState } from './data/movielens-serving-state';

export interface AgreementResult {
  users: number;
  offline: { generator: number; ranker: number };
  online: number;
  /** Users whose served top-10 differs from the offline one as a set. */
  differingUsers: number;
  relativeGap: number;
}

const k = 10;
const seed = 42;

export async function benchAgreement(
  settings: CairnSettings,
  log: (line: string) => void,
): Promise<AgreementResult> {
  const store = await InteractionStore.open(settings.storeDir);
  const training = await readTrainingSet(store);
  await store.close();
  if (training.interactions.length === 0)
    throw new Error(
      `the interaction store in ${settings.storeDir} is empty; run 'cairn ingest movielens' first`,
    );
  const threads = availableParallelism();
  const ials = trainingConfigSchema.parse({}).ials;
  // The ranker is disposed once the evaluation returns: it is kept as its scoring graph.
  let fitted: (Omit<FittedPipeline, 'ranker'> & { onnx: Uint8Array }) | undefined;

  const result = await evaluateReleasePipeline(training, ials, seed, threads, {
    log,
    onRanker: (_, { ranker, ...models }) => {
      fitted = { ...models, onnx: ranker.toScoringOnnx() };
    },
  });
  const outcome = result.temporal;
  if (fitted === undefined || !(fitted.generator instanceof Ials))
    throw new Error('the pipeline evaluation kept no iALS generator and ranker');
  const { generator, features, onnx, topK: offlineLists } = fitted;
  const train = features.train;

  const state = fittedHotState(generator, train, ials.factors, 'agreement', new LiveCatalog());
  const stage = await OnnxRankingStage.load({ onnx, tables: features.tables }, rankerCandidates, state.items);
  const config = parseServingConfig({
    search: 'in-process',
    searchBudgetMs: 10_000,
    deadlineMs: 10_000,
    pipeline: {
      annCandidates: rankerCandidates,
      weights: { ann: 1, session: 0, popularity: 0, fresh: 0, similar: 0, interests: 0 },
      mmrLambda: 1,
      categoryCap: 100,
      freshSlot: 0,
      explorationRate: 0,
      budgetSlot: 0,
      businessRules: [],
    },
  });
  const responder = new Responder({
    config,
    variants: variantsOf(config),
    search: new FallbackSearch(() => exactSearch, exactSearch, 0),
    state: () => ({ ...state, ranker: stage }),
    maxInFlight: 64,
    log,
  });
  const subject = `${settings.recommendSubject}.agreement-${process.pid}`;
  const nc = await connect({ servers: settings.natsUrl });
  const subscription = responder.subscribe(nc, subject);
  const split = splitInteractions('temporal', training.interactions, seed);
  const index = indexInteractions(training.interactions);
  const relevant = relevanceOf(split.test, index.users, index.items);
  const served: { ranked: Int32Array; relevant: ReadonlySet<number> }[] = [];
  let differingUsers = 0;
  try {
    for (const [user, items] of relevant) {
      const message = await nc.request(subject, JSON.stringify({ userId: train.users.ids[user], k }), {
        timeout: 10_000,
      });
      const reply = message.json<RecommendResponse>();
      if (!reply.ok)
        throw new Error(`user ${train.users.ids[user]}: ${reply.error.code} ${reply.error.message}`);
      const ranked = Int32Array.from(reply.items, (i) => train.items.require(i.itemId));
      served.push({ ranked, relevant: items });
      const offline = offlineLists.get(user);
      if (offline !== undefined && !offline.every((item) => ranked.includes(item))) differingUsers++;
    }
  } finally {
    subscription.unsubscribe();
    await nc.drain();
    await stage.release();
  }
  const online = summariseTopK(served, k, train.nItems).ndcg;
  const offline = {
    generator: outcome.metrics.generator[`ndcg@${k}`],
    ranker: outcome.metrics.ranker[`ndcg@${k}`],
  };
  return {
    users: served.length,
    offline,
    online,
    differingUsers,
    relativeGap: (online - offline.ranker) / offline.ranker,
  };
}
