export { embeddingBackfill } from './embedding-backfill';
export { ingestMovieLens } from './ingest-movielens';
