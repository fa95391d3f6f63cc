/**
 * Replays recorded histories of every workflow against the current workflow code, so a change
 * that would break workflows already running (a reordered, added or removed command without
 * `patched()`) fails here instead of in production. The histories are real runs recorded by
 * test/fixtures/histories/record.ts.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import * as workflows from '../../workflows';
import { type RecordedHistory, readRecordedHistories } from '../fixtures/histories/recorded-history';

const workflowType = ({ history }: RecordedHistory) =>
  history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? '';

describe('workflow replay', () => {
  let recorded: RecordedHistory[] = [];
  before(async () => {
    recorded = await readRecordedHistories();
  });

  it('every workflow has a recorded history', () => {
    const covered = new Set(recorded.map(workflowType));
    assert.deepEqual(
      Object.keys(workflows).filter((name) => !covered.has(name)),
      [],
      'unprotected workflows: add a run of each to test/fixtures/histories/record.ts and record it',
    );
  });

  it('the current workflow code replays every recorded history without nondeterminism', async () => {
    const replays = Worker.runReplayHistories(
      { workflowsPath: require.resolve('../../workflows'), replayName: 'cairn-replay-test' },
      recorded.map(({ workflowId, history }) => ({ workflowId, history })),
    );
    const failures: string[] = [];
    let replayed = 0;
    for await (const { workflowId, error } of replays) {
      replayed++;
      if (error !== undefined) {
        const name = recorded.find((r) => r.workflowId === workflowId)?.name;
        failures.push(`${name} (${workflowId}): ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    assert.equal(replayed, recorded.length);
    assert.deepEqual(failures, []);
  });
});
