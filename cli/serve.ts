/** `cairn serve`: answers `cairn.recommend.v1` until interrupted, following the champion. */
import { connect } from '@nats-io/transport-node';
import { searchClient } from '../services/catalog/elasticsearch';
import type { CairnSettings } from '../services/config/environment';
import { openModelRegistry } from '../services/registry/model-registry';
import { Recommender } from '../services/serving/recommender';
import { answerRecommendations } from '../services/serving/responder';

/** A promotion reaches serving within this long. */
const championPollMs = 30_000;

export async function runServe(settings: CairnSettings): Promise<number> {
  const nc = await connect({ servers: settings.natsUrl.split(',') });
  const search = searchClient(settings);
  const recommender = new Recommender(
    search,
    await openModelRegistry(nc, settings.registryBucket),
    settings.itemsAlias,
  );
  const version = await recommender.refresh();
  console.log(
    `serving ${settings.recommendSubject} with ${version === undefined ? 'no model yet (run cairn retrain)' : `release ${version}`}`,
  );
  const subscription = answerRecommendations(nc, settings.recommendSubject, recommender);
  const poll = setInterval(() => {
    recommender.refresh().then(
      (current) => {
        if (current !== undefined && current !== version) console.log(`now serving release ${current}`);
      },
      (error: unknown) => console.error(`champion refresh failed: ${(error as Error).message}`),
    );
  }, championPollMs);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  clearInterval(poll);
  subscription.unsubscribe();
  await nc.drain();
  await search.close();
  return 0;
}
