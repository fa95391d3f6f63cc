/**
 * A second process for the store-lock test: says 'ready', opens the store at argv[2] when a line
 * arrives on stdin, says 'opened' or 'refused: <why>', and a winner holds the store until stdin
 * closes.
 */
import { createInterface } from 'node:readline';
import { InteractionStore } from '../../services/store/interaction-store';

const input = createInterface({ input: process.stdin });
input.once('line', async () => {
  try {
    const store = await InteractionStore.open(process.argv[2]);
    console.log('opened');
    input.once('close', async () => {
      await store.close();
      process.exit(0);
    });
  } catch (error) {
    console.log(`refused: ${(error as Error).message}`);
    process.exit(3);
  }
});
console.log('ready');
