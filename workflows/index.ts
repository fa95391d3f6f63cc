export { emailSlates } from './email-slates';
export { embeddingBackfill } from './embedding-backfill';
export { ialsFanOut } from './ials-fan-out';
export { ingestMovieLens } from './ingest-movielens';
export { itemLifecycle } from './item-lifecycle';
export { retrain } from './retrain';
export { serving } from './serving';
