/**
 * Writes the ML-100K splits `cairn eval` uses (seed 42) as index pairs, so another library can be
 * tuned and scored on exactly the same data: per protocol, validation-train / validation (carved
 * out of train) and train / test, each a TSV of `user<TAB>item` indices over the full catalogue.
 * Run: npx tsx bench/models/export-splits.ts DIR [seed]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROTOCOLS, splitInteractions, validationSplit } from '../../services/evaluation/splits';
import { indexInteractions } from '../../services/models/interaction-matrix';
import type { Interaction } from '../../services/models/types';
import { readInteractions } from './movielens-files';

const [directory, seedArgument = '42'] = process.argv.slice(2);
if (!directory) throw new Error('usage: export-splits.ts DIR [seed]');
const seed = Number(seedArgument);
const interactions = readInteractions();
const { users, items } = indexInteractions(interactions);
const pairs = (part: readonly Interaction[]) =>
  part.map((x) => `${users.require(x.user)}\t${items.require(x.item)}\n`).join('');

writeFileSync(join(directory, 'shape.tsv'), `${users.size}\t${items.size}\n`);
for (const protocol of PROTOCOLS) {
  const split = splitInteractions(protocol, interactions, seed);
  const validation = validationSplit(protocol, split.train, seed);
  const out = join(directory, protocol);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'validation-train.tsv'), pairs(validation.train));
  writeFileSync(join(out, 'validation.tsv'), pairs(validation.test));
  writeFileSync(join(out, 'train.tsv'), pairs(split.train));
  writeFileSync(join(out, 'test.tsv'), pairs(split.test));
}
console.log(`wrote ${PROTOCOLS.join(', ')} splits of ${interactions.length} interactions to ${directory}`);
