import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { scratchNamespace } from '../../services/config/scratch-namespace';
import { eventProducer, kafkaClient } from '../../services/events/kafka';
import { validateMessage } from '../../services/events/validation';
import { InteractionStore, StoreFormatError } from '../../services/store/interaction-store';
import { type RebuildResult, rebuildStore } from '../../services/store/rebuild';
import { waitFor } from '../support/wait';
import { click, item, removeTempStores, tempStore, user } from './store-events';

after(removeTempStores);

const events = [
  user('u1'),
  user('u2'),
  item('i1', ['Drama']),
  item('i2', ['Drama']),
  click('u1', 'i1', 0),
  click('u2', 'i2', 1),
  click('u1', 'i1', 2),
];

test('cairn store rebuild replaces a store of format 1 with one of the current format, from the log', async () => {
  const settings = await scratchNamespace('rebuild', 2);
  const kafka = kafkaClient(settings, 'cairn-test');
  const producer = eventProducer(kafka);
  await producer.connect();
  try {
    for (const e of events)
      await producer.send({
        topic: settings.topics[e.stream],
        acks: -1,
        messages: [
          { key: 'itemId' in e.event ? e.event.itemId : e.event.userId, value: JSON.stringify(e.event) },
        ],
      });
    // A format-1 store: its checkpoint has no format field.
    const old = await InteractionStore.open(settings.storeDir);
    for (const e of events.slice(0, 5)) old.apply(e);
    await old.commit({});
    await old.close();
    const checkpointPath = join(settings.storeDir, 'checkpoint.json');
    const { format: _, ...formatOne } = JSON.parse(await readFile(checkpointPath, 'utf8'));
    await writeFile(checkpointPath, JSON.stringify(formatOne));
    await assert.rejects(InteractionStore.open(settings.storeDir), StoreFormatError);

    let result: RebuildResult | Error | undefined;
    rebuildStore(kafka, settings.topics, settings.storeDir, settings.consumerGroups.store).then(
      (r) => {
        result = r;
      },
      (error: Error) => {
        result = error;
      },
    );
    const rebuilt = await waitFor(() => result, { what: 'the rebuild to finish', timeoutMs: 120_000 });
    if (rebuilt instanceof Error) throw rebuilt;
    assert.equal(rebuilt.previousChecksum, undefined);
    assert.match(rebuilt.previousUnreadable ?? '', /has format 1/);
    assert.deepEqual(
      {
        interactions: rebuilt.interactions,
        impressions: rebuilt.impressions,
        items: rebuilt.items,
        users: rebuilt.users,
      },
      { interactions: 3, impressions: 0, items: 2, users: 2 },
    );
    const clean = await tempStore();
    // As the projector applies them: validated, so each entity line is the same JSON.
    for (const e of events) {
      const validated = validateMessage(e.stream, Buffer.from(JSON.stringify(e.event)));
      assert.ok(validated.ok);
      clean.apply(validated.value);
    }
    await clean.commit({});
    const reopened = await InteractionStore.open(settings.storeDir);
    assert.equal(await reopened.checksum(), await clean.checksum());
    assert.equal(rebuilt.checksum, await clean.checksum());
    await reopened.close();
  } finally {
    await producer.disconnect();
    await settings.cleanup();
  }
});
