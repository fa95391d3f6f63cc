/** `cairn lifecycle`: the consumers that drive the item lifecycle workflows, and their benchmark. */
import { benchLifecycle, formatLifecycleBench } from '../bench/lifecycle';
import type { CairnSettings } from '../services/config/environment';
import { kafkaClient } from '../services/events/kafka';
import { ensureTopics } from '../services/events/topics';
import { CatalogLifecycles, CountSignaller } from '../services/lifecycle/lifecycle-consumers';
import { temporalClient } from '../services/orchestration/temporal';
import { temporalConfig } from '../temporal.config';

/** Runs both lifecycle consumers until SIGINT/SIGTERM; pending counts are signalled before exit. */
export async function runLifecycleConsumers(settings: CairnSettings): Promise<void> {
  const kafka = kafkaClient(settings, 'cairn-lifecycle');
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, settings.topics, settings.env.CAIRN_TOPIC_PARTITIONS).finally(() =>
    admin.disconnect(),
  );
  const temporal = await temporalClient(settings);
  const deps = { kafka, temporal, settings };
  const catalog = new CatalogLifecycles(deps);
  const counts = new CountSignaller(deps, { intervalMs: temporalConfig.lifecycle.signalIntervalMs });
  try {
    await Promise.all([catalog.start(), counts.start()]);
    const report = setInterval(
      () =>
        console.log(
          `item_created applied ${catalog.created}, refused ${catalog.refused}; count signals ${counts.signals}, dropped ${counts.dropped}`,
        ),
      30_000,
    );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    clearInterval(report);
  } finally {
    await Promise.all([catalog.stop(), counts.stop()]);
    await temporal.connection.close();
  }
}

export async function runLifecycleBench(values: Record<string, unknown>): Promise<number> {
  const items = Number(values.items ?? 100_000);
  const signalsPerItem = Number(values.signals ?? 5);
  const concurrency = Number(values.concurrency ?? 64);
  if (
    ![items, signalsPerItem, concurrency].every((v) => Number.isInteger(v) && v >= 1) ||
    items > 10_000_000
  ) {
    console.error(
      'cairn lifecycle bench: --items 1..10000000, --signals and --concurrency positive integers',
    );
    return 2;
  }
  const command = `command: cairn lifecycle bench --items ${items} --signals ${signalsPerItem} --concurrency ${concurrency}`;
  console.log(command);
  const result = await benchLifecycle({
    items,
    signalsPerItem,
    concurrency,
    log: (line) => console.log(`  ${line}`),
  });
  console.log(command);
  for (const line of formatLifecycleBench(result)) console.log(line);
  return 0;
}
