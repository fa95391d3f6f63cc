/**
 * The retrain's gate: the challenger against the champion's config refitted on the same snapshot,
 * on two figures. Retrieval is iALS alone on the stratified holdout; the pipeline is what serving
 * runs (the generator's top 200 → the ranker where it won → top 10) on the temporal holdout, the
 * ranker's own protocol. A challenger is promoted when neither is worse beyond the tolerance.
 */

/** One figure, NDCG@10, of both sides on the same holdout. */
export interface GateFigure {
  protocol: 'stratified' | 'temporal';
  challenger: number;
  champion: number;
}

export interface GateFigures {
  retrieval: GateFigure;
  /** Absent where the snapshot trains no ranker (one class of labels). */
  pipeline?: GateFigure;
}

export function gateVerdict(figures: GateFigures, tolerance: number): { promote: boolean; reason: string } {
  const named = Object.entries(figures).filter(
    (entry): entry is [string, GateFigure] => entry[1] !== undefined,
  );
  const worse = named.filter(([, f]) => f.challenger < f.champion - tolerance).map(([name]) => name);
  const shown = named
    .map(
      ([name, f]) =>
        `${name} NDCG@10 ${f.challenger.toFixed(4)} vs champion ${f.champion.toFixed(4)} (${f.protocol})`,
    )
    .join(', ');
  const promote = worse.length === 0;
  const verdict = promote ? 'not worse' : `worse in ${worse.join(' and ')}`;
  return { promote, reason: `${verdict}: ${shown}, tolerance ${tolerance}` };
}
