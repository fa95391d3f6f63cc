export { embeddingBackfill } from './embedding-backfill';
export { ingestMovieLens } from './ingest-movielens';
export { retrain } from './retrain';
export { serving } from './serving';
