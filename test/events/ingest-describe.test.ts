/** Only "no such workflow" means "not ingested yet"; other Temporal errors reach the user. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runIngestMovieLens } from '../../cli/ingest';
import { scratchNamespace } from '../../services/config/scratch-namespace';
import { kafkaClient } from '../../services/events/kafka';
import { within } from './within';

test('cairn ingest reports an error from describing its workflow, and starts nothing', async () => {
  const settings = await scratchNamespace('dsc');
  const missingNamespace = {
    ...settings,
    env: { ...settings.env, TEMPORAL_NAMESPACE: `${settings.prefix}no-such-namespace` },
  };
  const admin = kafkaClient(settings, 'cairn-test').admin();
  await admin.connect();
  try {
    const outcome = await within(
      runIngestMovieLens(missingNamespace, { inProcess: true, eventsPerSecond: 0 }).then(
        () => undefined,
        (error: unknown) => error,
      ),
      { what: 'the ingest to report the missing namespace', timeoutMs: 120_000, pollMs: 250 },
    );
    assert.ok(outcome instanceof Error, 'the ingest failed');
    assert.equal(outcome.name, 'NamespaceNotFoundError');
    const [group] = (await admin.describeGroups([settings.consumerGroups.store])).groups;
    assert.equal(group.state, 'Dead', 'no consumer was started (the store group was never joined)');
  } finally {
    await admin.disconnect();
    await settings.cleanup();
  }
});
