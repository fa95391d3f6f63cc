export { ingestMovieLens } from './ingest-movielens';
