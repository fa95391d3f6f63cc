/**
 * Click-to-effect: from an interaction produced to Kafka to the first recommend call that
 * reflects it (the clicked item is gone from the user's answer), with `clicksPerSecond` clicks
 * alongside `servingRate` requests/s of other users' traffic. In a scratch namespace with a
 * published release; the session consumer and one serving replica run in this process, as they
 * would in `cairn realtime` and `cairn serve`. The replica's session view (memory, no request) is
 * checked every `pollMs` for the click; once it is there, one recommend call is made, and the
 * figure is the time at which a reply without the clicked item arrives. Polling with recommend
 * calls instead would add hundreds of requests/s of its own and measure the overload it causes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import type { RecommendResponse } from '../schemas/recommend';
import { searchClient } from '../services/catalog/elasticsearch';
import { syntheticUserId } from '../services/data/synthetic';
import { eventProducer, kafkaClient } from '../services/events/kafka';
import { mulberry32 } from '../services/models/random';
import { realtimeConfig, sessionBucket } from '../services/realtime/realtime-config';
import { SessionConsumer } from '../services/realtime/session-consumer';
import { SessionView } from '../services/realtime/session-store';
import { openModelRegistry } from '../services/registry/model-registry';
import { replicaAddresses, ServingReplica } from '../services/serving/replica';
import { parseServingConfig } from '../services/serving/serving-config';
import { publishedNamespace } from './data/published-release';

export interface ClickBenchOptions {
  clicksPerSecond: number;
  servingRate: number;
  seconds: number;
  pollMs: number;
  log: (line: string) => void;
}

export interface Percentiles {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface ClickBenchResult {
  clicks: Percentiles;
  /** Clicks whose effect was not seen within the give-up time. */
  unreflected: number;
  serving: Percentiles;
  /** Requests of any kind answered per second, probes included. */
  answeredPerSecond: number;
}

const giveUpMs = 10_000;

export async function benchClickToEffect(options: ClickBenchOptions): Promise<ClickBenchResult> {
  const settings = await publishedNamespace('clickbench');
  const nc = await connect({ servers: settings.natsUrl });
  const kafka = kafkaClient(settings, 'cairn-bench-click');
  const consumer = new SessionConsumer({ kafka, nats: nc, settings });
  const sessions = await SessionView.open(nc, sessionBucket(settings), realtimeConfig.sessionTtlMs);
  const es = searchClient(settings);
  const producer = eventProducer(kafka);
  let replica: ServingReplica | undefined;
  try {
    await consumer.start();
    await producer.connect();
    replica = await ServingReplica.start({
      nc,
      search: es,
      kafka,
      registry: await openModelRegistry(nc, settings.registryBucket),
      config: parseServingConfig({ search: 'in-process' }),
      ...replicaAddresses(settings),
      log: () => undefined,
      sessions,
    });
    let answered = 0;
    const ask = async (userId: string): Promise<RecommendResponse> => {
      const reply = JSON.parse(
        (
          await nc.request(settings.recommendSubject, JSON.stringify({ userId, k: 10 }), { timeout: 5_000 })
        ).string(),
      ) as RecommendResponse;
      answered++;
      return reply;
    };
    const random = mulberry32(11);
    const servingLatencies: number[] = [];
    const clickLatencies: number[] = [];
    let unreflected = 0;
    const inFlight: Promise<void>[] = [];
    const started = performance.now();
    const endAt = started + options.seconds * 1000;
    options.log(
      `${options.clicksPerSecond} clicks/s and ${options.servingRate} requests/s for ${options.seconds} s`,
    );
    const serveLoop = async () => {
      for (let n = 0; ; n++) {
        const due = started + (n * 1000) / options.servingRate;
        if (due >= endAt) return;
        await sleep(Math.max(0, due - performance.now()));
        const sent = performance.now();
        inFlight.push(
          ask(syntheticUserId(Math.floor(random() * 300)))
            .then(() => {
              servingLatencies.push(performance.now() - sent);
            })
            .catch(() => undefined),
        );
      }
    };
    const click = async (n: number) => {
      const userId = `clicker-${n}`;
      const before = await ask(userId);
      if (!before.ok || before.items.length === 0) return;
      const itemId = before.items[0].itemId;
      const event = {
        eventId: `click-bench-${n}`,
        type: 'click',
        userId,
        itemId,
        occurredAt: Date.now(),
        surface: 'homepage',
        slateId: before.slateId,
      };
      const producedAt = performance.now();
      await producer.send({
        topic: settings.topics.interactions,
        messages: [{ key: userId, value: JSON.stringify(event) }],
      });
      while (performance.now() - producedAt < giveUpMs) {
        if (sessions.session(userId)?.recent[0] === itemId) {
          const reply = await ask(userId);
          if (reply.ok && !reply.items.some((i) => i.itemId === itemId)) {
            clickLatencies.push(performance.now() - producedAt);
            return;
          }
        }
        await sleep(options.pollMs);
      }
      unreflected++;
    };
    const clickLoop = async () => {
      for (let n = 0; ; n++) {
        const due = started + (n * 1000) / options.clicksPerSecond;
        if (due >= endAt) return;
        await sleep(Math.max(0, due - performance.now()));
        inFlight.push(click(n).catch(() => undefined));
      }
    };
    await Promise.all([serveLoop(), clickLoop()]);
    await Promise.all(inFlight);
    const elapsed = (performance.now() - started) / 1000;
    return {
      clicks: percentiles(clickLatencies),
      unreflected,
      serving: percentiles(servingLatencies),
      answeredPerSecond: answered / elapsed,
    };
  } finally {
    await replica?.drain().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await consumer.stop().catch(() => undefined);
    await sessions.close();
    await es.close();
    await new Kvm(nc)
      .open(sessionBucket(settings))
      .then((kv) => kv.destroy())
      .catch(() => undefined);
    await nc.close();
    await settings.cleanup();
  }
}

function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return {
    count: sorted.length,
    p50: at(0.5),
    p95: at(0.95),
    p99: at(0.99),
    max: sorted.at(-1) ?? Number.NaN,
  };
}

export function formatClickBench(r: ClickBenchResult): string[] {
  const ms = (p: Percentiles) =>
    `p50 ${p.p50.toFixed(0)} ms, p95 ${p.p95.toFixed(0)} ms, p99 ${p.p99.toFixed(0)} ms, max ${p.max.toFixed(0)} ms`;
  return [
    `click-to-effect (${r.clicks.count} clicks, ${r.unreflected} not reflected within ${giveUpMs / 1000} s): ${ms(r.clicks)}`,
    `serving latency of the other traffic (${r.serving.count} requests): ${ms(r.serving)}`,
    `requests answered: ${r.answeredPerSecond.toFixed(0)}/s (probes included)`,
  ];
}
