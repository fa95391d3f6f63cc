import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatModelVersions } from '../../cli/ab';
import type { Impression } from '../../schemas/events';

const impression = (variant: string, modelVersions: Record<string, string>): Impression => ({
  slateId: `${variant}-${Object.values(modelVersions).join()}`,
  userId: 'u',
  surface: 'homepage',
  servedAt: 0,
  variant,
  modelVersions,
  items: [{ itemId: 'i', position: 0, score: 1, propensity: 1 }],
});

test('cairn ab report lists, per variant, the model versions its slates came from with their counts', () => {
  const lines = formatModelVersions([
    impression('pinned', { retrieval: 'v1', ranker: 'v1' }),
    impression('control', { retrieval: 'v1', ranker: 'v1' }),
    impression('control', { retrieval: 'v2' }),
    impression('pinned', { ranker: 'v1', retrieval: 'v1' }),
    impression('control', { retrieval: 'v2' }),
  ]);
  assert.deepEqual(lines, [
    'models per variant (slates)',
    'control       ranker v1, retrieval v1 (1); retrieval v2 (2)',
    'pinned        ranker v1, retrieval v1 (2)',
  ]);
});
