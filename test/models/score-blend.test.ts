import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InteractionMatrix } from '../../services/models/interaction-matrix';
import { ScoreBlend } from '../../services/models/score-blend';
import type { CandidateModel } from '../../services/models/types';

function fixedScores(name: string, scores: number[]): CandidateModel & { fitted: boolean } {
  return {
    name,
    fitted: false,
    fit(_train: InteractionMatrix) {
      this.fitted = true;
    },
    scoreUser(_user: number, out: Float32Array) {
      out.set(scores);
    },
  };
}

describe('ScoreBlend', () => {
  // Same ordering information on very different scales.
  const big = fixedScores('big', [1000, 3000, 2000, 0]);
  const small = fixedScores('small', [0.4, 0.1, 0.2, 0.3]);

  it('standardises components so the weights, not the scales, decide', () => {
    const out = new Float32Array(4);
    new ScoreBlend([
      { model: big, weight: 0.5 },
      { model: small, weight: 0.5 },
    ]).scoreUser(0, out);
    // Population z-scores: big has mean 1500, variance 1.25e6; small has mean 0.25, variance 0.0125.
    const expected = [0, 1, 2, 3].map((i) => {
      const zBig = ([1000, 3000, 2000, 0][i] - 1500) / Math.sqrt(1.25e6);
      const zSmall = ([0.4, 0.1, 0.2, 0.3][i] - 0.25) / Math.sqrt(0.0125);
      return 0.5 * zBig + 0.5 * zSmall;
    });
    for (let i = 0; i < 4; i++)
      assert.ok(Math.abs(out[i] - expected[i]) < 1e-5, `${i}: ${out[i]} vs ${expected[i]}`);
  });

  it('a weight of one reproduces that component’s ranking', () => {
    const out = new Float32Array(4);
    new ScoreBlend([
      { model: big, weight: 0 },
      { model: small, weight: 1 },
    ]).scoreUser(0, out);
    assert.deepEqual(
      Array.from(out.keys()).sort((a, b) => out[b] - out[a]),
      [0, 3, 2, 1],
    );
  });

  it('fits every component and names itself after them', async () => {
    const blend = new ScoreBlend([
      { model: big, weight: 1 },
      { model: small, weight: 1 },
    ]);
    await blend.fit({} as InteractionMatrix);
    assert.ok(big.fitted && small.fitted);
    assert.equal(blend.name, 'big+small');
  });
});
