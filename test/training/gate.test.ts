import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gateVerdict } from '../../services/training/gate';

const retrieval = (challenger: number, champion: number) => ({
  protocol: 'stratified' as const,
  challenger,
  champion,
});
const pipeline = (challenger: number, champion: number) => ({
  protocol: 'temporal' as const,
  challenger,
  champion,
});

test('the gate promotes a challenger worse in neither figure beyond the tolerance', () => {
  const verdict = gateVerdict({ retrieval: retrieval(0.3, 0.301), pipeline: pipeline(0.2, 0.2) }, 0.002);
  assert.equal(verdict.promote, true);
  assert.equal(
    verdict.reason,
    'not worse: retrieval NDCG@10 0.3000 vs champion 0.3010 (stratified), pipeline NDCG@10 0.2000 vs champion 0.2000 (temporal), tolerance 0.002',
  );
});

test('a better retriever whose served pipeline is worse is refused, and the reason names the pipeline', () => {
  const verdict = gateVerdict({ retrieval: retrieval(0.35, 0.3), pipeline: pipeline(0.18, 0.2) }, 0.002);
  assert.equal(verdict.promote, false);
  assert.match(verdict.reason, /^worse in pipeline: retrieval NDCG@10 0\.3500 vs champion 0\.3000/);
  assert.match(
    gateVerdict({ retrieval: retrieval(0.2, 0.3), pipeline: pipeline(0.1, 0.2) }, 0).reason,
    /^worse in retrieval and pipeline: /,
  );
});

test('without a trained ranker the gate judges retrieval alone', () => {
  assert.equal(gateVerdict({ retrieval: retrieval(0.31, 0.3) }, 0).promote, true);
  assert.equal(
    gateVerdict({ retrieval: retrieval(0.29, 0.3) }, 0).reason,
    'worse in retrieval: retrieval NDCG@10 0.2900 vs champion 0.3000 (stratified), tolerance 0',
  );
});
