import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { readSettings } from '../../services/config/environment';
import {
  budgetKey,
  ExplorationBudget,
  grantBudget,
  itemOfBudgetKey,
  openBudgetBucket,
  remainingBudget,
  revokeBudget,
} from '../../services/lifecycle/exploration-budget';
import { waitFor } from '../support/wait';

const settings = readSettings();
const options = { leaseSize: 7, refillBelow: 2 };

/** A serving replica: spends whenever it can until `stop`, as fast as the event loop allows. */
async function spend(budget: ExplorationBudget, itemId: string, stop: AbortSignal): Promise<number> {
  let spent = 0;
  while (!stop.aborted) {
    if (budget.takeImpression(itemId)) spent++;
    else await sleep(0);
  }
  return spent;
}

it('two replicas spending one budget in parallel never exceed it, and a revoked budget stops them', async () => {
  const bucket = `t${Date.now().toString(36)}-exploration`;
  const [workflowSide, a, b] = await Promise.all([1, 2, 3].map(() => connect({ servers: settings.natsUrl })));
  const kv = await openBudgetBucket(workflowSide, bucket);
  const replicaA = await ExplorationBudget.open(a, bucket, options);
  const replicaB = await ExplorationBudget.open(b, bucket, options);
  try {
    assert.equal(itemOfBudgetKey(budgetKey('item 7/ü.x')), 'item 7/ü.x');
    await grantBudget(kv, 'item.1', 500);
    await grantBudget(kv, 'item.1', 500);
    assert.equal(await remainingBudget(kv, 'item.1'), 500, 'a repeated grant does not refill');

    const stop = new AbortController();
    const spending = Promise.all([
      spend(replicaA, 'item.1', stop.signal),
      spend(replicaB, 'item.1', stop.signal),
    ]);
    await waitFor(async () => (await remainingBudget(kv, 'item.1')) === 0, {
      what: 'the budget to be leased out',
      timeoutMs: 30_000,
    });
    await waitFor(() => replicaA.held('item.1') + replicaB.held('item.1') === 0, {
      what: 'both replicas to spend what they hold',
      timeoutMs: 10_000,
    });
    stop.abort();
    const [spentA, spentB] = await spending;
    assert.equal(spentA + spentB, 500, `spent ${spentA} + ${spentB}`);
    assert.ok(spentA > 0 && spentB > 0, 'both replicas got leases');

    await grantBudget(kv, 'item.2', 100);
    await waitFor(() => replicaB.exploringItems().includes('item.2'), {
      what: 'the grant to reach the replicas',
      timeoutMs: 5_000,
    });
    assert.ok(!replicaB.exploringItems().includes('item.1'), 'a spent budget is no exploration candidate');
    assert.equal(await replicaA.prefetch('item.2'), 7);
    assert.ok(replicaA.takeImpression('item.2'));
    await revokeBudget(kv, 'item.2');
    await waitFor(() => replicaA.held('item.2') === 0, {
      what: 'the revocation to reach the replica',
      timeoutMs: 5_000,
    });
    assert.equal(replicaA.takeImpression('item.2'), false, 'a revoked budget is not spent');
    assert.equal(await replicaB.prefetch('item.2'), 0);
    assert.deepEqual(replicaA.exploringItems(), []);

    await grantBudget(kv, 'item.3', 50);
    assert.equal(await replicaB.prefetch('item.3'), 7);
    await replicaB.close();
    assert.equal(await remainingBudget(kv, 'item.3'), 50, 'a replica that stops gives back what it held');
  } finally {
    await replicaA.close();
    await new Kvm(workflowSide).open(bucket).then((bucketToDrop) => bucketToDrop.destroy());
    await Promise.all([workflowSide, a, b].map((nc) => nc.close()));
  }
});
