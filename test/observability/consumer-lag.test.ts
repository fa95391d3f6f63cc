import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scratchNamespace } from '../../services/config/scratch-namespace';
import { kafkaClient } from '../../services/events/kafka';
import { watchConsumerLag } from '../../services/observability/consumer-lag';
import { metricsRegistry } from '../../services/observability/metrics';
import { idempotentProducer } from '../support/idempotent-producer';

test("the lag is each partition's end minus the group's committed offset, read from Kafka when scraped", async () => {
  const settings = await scratchNamespace('lag', 2);
  const kafka = kafkaClient(settings, 'cairn-test-lag');
  const topic = settings.topics.interactions;
  const groupId = `${settings.prefix}lag-probe`;
  const admin = kafka.admin();
  await admin.connect();
  // Lag counts log records: a retried request's copies would count too.
  const producer = idempotentProducer(kafka);
  await producer.connect();
  const watch = await watchConsumerLag(kafka, [{ groupId, topics: [topic] }]);
  try {
    const send = (partition: number, n: number) =>
      producer.send({
        topic,
        messages: Array.from({ length: n }, (_, i) => ({ partition, value: `m${i}` })),
      });
    await send(0, 5);
    await send(1, 3);
    // The group has read 2 of partition 0 and never committed partition 1.
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '2' }] });
    const lagOf = async () => {
      const metric = await metricsRegistry.getSingleMetric('cairn_consumer_lag')?.get();
      return Object.fromEntries(
        (metric?.values ?? [])
          .filter((v) => v.labels.group === groupId && v.labels.topic === topic)
          .map((v) => [String(v.labels.partition), v.value]),
      );
    };
    assert.deepEqual(await lagOf(), { '0': 3, '1': 3 });
    // Nothing consumes: new events show as lag at the next scrape.
    await send(1, 4);
    assert.deepEqual(await lagOf(), { '0': 3, '1': 7 });
  } finally {
    await watch.stop();
    await producer.disconnect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
    await settings.cleanup();
  }
});
