/** The entry of a thread that ranks a share of the users for `rankOnThreads`. */
import { parentPort, workerData } from 'node:worker_threads';
import { type FactorRankingTask, rankWithFactors } from './factor-ranking';

const { model, request } = workerData as FactorRankingTask;
parentPort?.postMessage(rankWithFactors(model, request));
