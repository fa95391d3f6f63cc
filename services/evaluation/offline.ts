import { Ease, type EaseParams } from '../models/ease';
import { Ials, type IalsParams } from '../models/ials';
import { indexInteractions } from '../models/interaction-matrix';
import { CohortPopularity, type CohortPopularityParams, GlobalPopularity } from '../models/popularity';
import { ScoreBlend } from '../models/score-blend';
import type { ItemContent } from '../models/two-tower/features';
import { TWO_TOWER_GRID } from '../models/two-tower/grid';
import { TwoTower, type TwoTowerParams } from '../models/two-tower/model';
import type { CandidateModel, Demographics, Interaction } from '../models/types';
import {
  type Hyperparameters,
  type ModelSpec,
  ndcgOn,
  product,
  type Stage,
  spec,
  stage,
  tune,
} from './grid-search';
import type { TopKReport } from './metrics';
import { evaluateRanking } from './ranking';
import { PROTOCOLS, type Protocol, type Split, splitInteractions, validationSplit } from './splits';

export interface HyperparameterGrids {
  cohortPopularity: CohortPopularityParams[];
  ease: EaseParams[];
  ials: IalsParams[];
  /** Weight on EASE in the EASE+iALS blend; iALS gets 1 − weight. */
  blendEaseWeight: number[];
  twoTower: TwoTowerParams[];
}

/**
 * The same grids serve both protocols; validation decides, e.g., whether
 * recency weighting is worth it. `undefined` half-life means unweighted history.
 */
export const DEFAULT_GRIDS: HyperparameterGrids = {
  cohortPopularity: product<CohortPopularityParams>({ shrinkage: [1, 10, 50] }),
  ease: product<EaseParams>({ lambda: [200, 400, 800, 1600], recencyHalfLife: [undefined, 3, 5, 10, 20] }),
  ials: [
    ...product<IalsParams>({
      factors: [64, 128],
      lambda: [50],
      alpha: [10, 30],
      epochs: [10],
      recencyHalfLife: [undefined, 5],
    }),
    ...product<IalsParams>({
      factors: [64, 128],
      lambda: [100],
      alpha: [20],
      epochs: [10],
      recencyHalfLife: [undefined, 5],
    }),
    // Weak confidence with moderate λ, where implicit's tuned ALS sits (its alpha 3 is α = 2
    // here: implicit's confidence is α·r, ours 1 + α·r). Stratified NDCG peaks sharply there
    // (λ 30, α 2); recency-weighted temporal still prefers strong confidence above.
    ...product<IalsParams>({
      factors: [64, 128, 256],
      lambda: [20, 30],
      alpha: [2],
      epochs: [15],
    }),
  ],
  blendEaseWeight: [0, 0.2, 0.35, 0.5, 0.65, 0.8, 1],
  twoTower: TWO_TOWER_GRID,
};

export interface OfflineOptions<P extends Protocol = Protocol> {
  seed?: number;
  k?: number;
  /** Defaults to both. */
  protocols?: readonly P[];
  /** Solver threads for models that can use workers (iALS); results do not depend on it. */
  threads?: number;
  /** Enables the cohort-popularity model. */
  demographics?: ReadonlyMap<string, Demographics>;
  /** With demographics, enables the two-tower model (its towers read both). */
  itemContent?: ReadonlyMap<string, ItemContent>;
  grids?: Partial<HyperparameterGrids>;
  log?: (line: string) => void;
}

/** Keys are `<metric>@<k>`, e.g. "ndcg@10". */
export type MetricRow = Record<string, number>;

export interface ModelOutcome {
  /** Hyperparameters chosen on the validation split. */
  params: Hyperparameters;
  validationNdcg: number;
  /** Test metrics of the model refitted on the full training split. */
  metrics: MetricRow;
  /** Wall time of the final refit; for the blend, the sum of its components' refits. */
  fitSeconds: number;
  /** Wall time spent fitting and scoring every grid point on validation. */
  tuningSeconds: number;
  /** Top-K item ids for every test user id. */
  recommendations: Map<string, string[]>;
}

export interface ProtocolOutcome {
  split: Split;
  models: Record<string, ModelOutcome>;
}

export interface OfflineResult<P extends Protocol = Protocol> {
  metrics: Record<P, Record<string, MetricRow>>;
  protocols: Record<P, ProtocolOutcome>;
}

/**
 * Both protocols for every model. Per protocol: split, carve validation out of
 * train, pick each model's hyperparameters by validation NDCG@K, refit on the
 * whole train split and only then touch test. The test split is read once per
 * final model and never feeds a choice.
 */
export async function runOfflineEvaluation<P extends Protocol = Protocol>(
  interactions: readonly Interaction[],
  options: OfflineOptions<P> = {},
): Promise<OfflineResult<P>> {
  const seed = options.seed ?? 42;
  const k = options.k ?? 10;
  const grids = { ...DEFAULT_GRIDS, ...options.grids };
  const log = options.log ?? (() => {});
  const index = indexInteractions(interactions);
  const specs: ModelSpec[] = [spec('popularity', [{}], () => new GlobalPopularity())];
  const demographics = options.demographics;
  if (demographics) {
    specs.push(
      spec('cohort-popularity', grids.cohortPopularity, (p) => new CohortPopularity(demographics, p)),
    );
  }
  specs.push(spec('ease', grids.ease, (p) => new Ease(p)));
  const threads = options.threads ?? 1;
  specs.push(spec('ials', grids.ials, (p) => new Ials({ ...p, threads })));
  const content = options.itemContent;
  if (demographics && content)
    specs.push(
      spec('two-tower', grids.twoTower, (p) => new TwoTower({ ...p, seed }, { demographics, content })),
    );

  // Without an explicit list P is the default, Protocol, so PROTOCOLS is a valid P[].
  const requested = options.protocols ?? (PROTOCOLS as readonly P[]);
  const metrics = {} as Record<P, Record<string, MetricRow>>;
  const protocols = {} as Record<P, ProtocolOutcome>;
  for (const protocol of requested) {
    const split = splitInteractions(protocol, interactions, seed);
    const validation = stage(validationSplit(protocol, split.train, seed), index);
    const final = stage(split, index);
    const models: Record<string, ModelOutcome> = {};
    const fitted = new Map<string, { tuned: CandidateModel; final: CandidateModel }>();
    for (const s of specs) {
      const tuned = await tune(s, validation, k);
      const { params } = tuned.candidate;
      log(
        `${protocol} ${s.name}: chose ${JSON.stringify(params)} (validation ndcg@${k} ${tuned.ndcg.toFixed(4)})`,
      );
      const model = tuned.candidate.create();
      const fitSeconds = await timed(() => model.fit(final.train));
      models[s.name] = outcome(model, final, k, {
        params,
        validationNdcg: tuned.ndcg,
        fitSeconds,
        tuningSeconds: tuned.seconds,
      });
      fitted.set(s.name, { tuned: tuned.model, final: model });
    }
    const ease = fitted.get('ease');
    const ials = fitted.get('ials');
    if (ease && ials) {
      // Components are reused as already fitted: on validation for the weight choice, on train for test.
      const blend = (w: number, side: 'tuned' | 'final') =>
        new ScoreBlend(
          [
            { model: ease[side], weight: w },
            { model: ials[side], weight: 1 - w },
          ],
          'ease+ials',
        );
      const started = performance.now();
      let best = { w: Number.NaN, ndcg: Number.NEGATIVE_INFINITY };
      for (const w of grids.blendEaseWeight) {
        const ndcg = ndcgOn(blend(w, 'tuned'), validation, k);
        if (ndcg > best.ndcg) best = { w, ndcg };
      }
      log(`${protocol} ease+ials: chose easeWeight ${best.w} (validation ndcg@${k} ${best.ndcg.toFixed(4)})`);
      models['ease+ials'] = outcome(blend(best.w, 'final'), final, k, {
        params: { easeWeight: best.w },
        validationNdcg: best.ndcg,
        fitSeconds: models.ease.fitSeconds + models.ials.fitSeconds,
        tuningSeconds: (performance.now() - started) / 1000,
      });
    }
    metrics[protocol] = Object.fromEntries(Object.entries(models).map(([name, m]) => [name, m.metrics]));
    protocols[protocol] = { split, models };
  }
  return { metrics, protocols };
}

async function timed(run: () => void | Promise<void>): Promise<number> {
  const started = performance.now();
  await run();
  return (performance.now() - started) / 1000;
}

function outcome(
  model: CandidateModel,
  final: Stage,
  k: number,
  facts: Pick<ModelOutcome, 'params' | 'validationNdcg' | 'fitSeconds' | 'tuningSeconds'>,
): ModelOutcome {
  const { report, recommendations } = evaluateRanking(model, final.train, final.relevant, k);
  const itemIds = final.train.items.ids;
  const userIds = final.train.users.ids;
  return {
    ...facts,
    metrics: metricRow(report, k),
    recommendations: new Map(
      [...recommendations].map(([u, list]) => [userIds[u], Array.from(list, (i) => itemIds[i])]),
    ),
  };
}

export function metricRow(report: TopKReport, k: number): MetricRow {
  return {
    [`ndcg@${k}`]: report.ndcg,
    [`recall@${k}`]: report.recall,
    [`precision@${k}`]: report.precision,
    [`map@${k}`]: report.map,
    [`coverage@${k}`]: report.coverage,
  };
}
