/** Fills a namespace's interaction store straight from the synthetic generator (no Kafka needed). */
import type { CairnSettings } from '../../services/config/environment';
import {
  type SyntheticConfigInput,
  syntheticInteractions,
  syntheticItems,
  syntheticUsers,
} from '../../services/data/synthetic';
import { InteractionStore } from '../../services/store/interaction-store';

export async function fillSyntheticStore(settings: CairnSettings, data: SyntheticConfigInput): Promise<void> {
  const store = await InteractionStore.open(settings.storeDir);
  for (const event of syntheticUsers(data)) store.apply({ stream: 'users', event });
  for (const event of syntheticItems(data)) store.apply({ stream: 'catalog', event });
  for (const event of syntheticInteractions(data)) store.apply({ stream: 'interactions', event });
  await store.commit({});
  await store.close();
}
