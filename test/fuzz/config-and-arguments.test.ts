/**
 * Config files, the environment and the command line: whatever they hold, each is accepted or
 * refused with its own error type and a message, never another exception, and no key reaches a
 * prototype.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { parseCommandLine } from '../../cli/command-line';
import { type CommandContext, commands, usage } from '../../cli/commands';
import { replayChoiceOf } from '../../cli/deadletter';
import { environmentSchema } from '../../schemas/config';
import { ConfigError, readSettings } from '../../services/config/environment';
import {
  parseServingConfig,
  readServingConfig,
  ServingConfigError,
  servingConfigSchema,
} from '../../services/serving/serving-config';
import {
  parseTrainingConfig,
  readTrainingConfigFile,
  TrainingConfigError,
  trainingConfigSchema,
} from '../../services/training/config';
import {
  assertPlainPrototypes,
  assertPrototypesUntouched,
  fuzzParameters,
  hostileKey,
  jsonObjectText,
  junk,
  objectOf,
  prototypeSnapshot,
} from './fuzz-settings';

const prototypes = prototypeSnapshot();
const dir = mkdtemp(join(tmpdir(), 'cairn-fuzz-config-'));
after(async () => rm(await dir, { recursive: true, force: true }));

/** Config-shaped JSON: the schema's own keys (nested one level) with any values, plus hostile keys. */
function configText(keys: string[]): fc.Arbitrary<string> {
  const key = fc.oneof(fc.constantFrom(...keys), hostileKey);
  const value = fc.oneof(junk, fc.array(fc.tuple(key, junk), { maxLength: 4 }).map(objectOf));
  return fc.array(fc.tuple(key, value), { maxLength: 6 }).map(jsonObjectText);
}

const fileBytes = (keys: string[]) =>
  fc.oneof(
    { arbitrary: configText(keys).map((t) => Buffer.from(t)), weight: 8 },
    { arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)), weight: 1 },
    { arbitrary: fc.string({ maxLength: 64 }).map((s) => Buffer.from(s)), weight: 1 },
  );

const configs = [
  {
    name: 'training config',
    keys: [...Object.keys(trainingConfigSchema.shape), 'factors', 'lambda', 'alpha', 'epochs', 'seed'],
    parse: parseTrainingConfig,
    read: readTrainingConfigFile,
    error: TrainingConfigError,
  },
  {
    name: 'serving config',
    keys: [...Object.keys(servingConfigSchema.shape), 'k', 'share', 'params', 'name'],
    parse: parseServingConfig,
    read: readServingConfig,
    error: ServingConfigError,
  },
];

for (const config of configs)
  test(`a ${config.name} file is accepted or refused with ${config.error.name}`, async () => {
    let accepted = 0;
    let file = 0;
    await fc.assert(
      fc.asyncProperty(fileBytes(config.keys), async (bytes) => {
        const path = join(await dir, `config-${file++}.json`);
        await writeFile(path, bytes);
        const outcome = await config.read(path).catch((error: unknown) => error);
        if (outcome instanceof Error) {
          assert.ok(outcome instanceof config.error, `${outcome.name}: ${outcome.message}`);
          assert.ok(outcome.message.includes(path), outcome.message);
          return;
        }
        accepted++;
        assertPlainPrototypes(outcome);
        assert.deepEqual(config.parse(JSON.parse(bytes.toString())), outcome);
      }),
      fuzzParameters(),
    );
    assertPrototypesUntouched(prototypes);
    assert.ok(accepted > 0, 'no file was accepted: the generator misses the valid region');
  });

const environmentKeys = Object.keys(environmentSchema.shape);
const environmentValue = fc.oneof(
  fc.constantFrom('', '0', '65536', '4222', 'nats://127.0.0.1:4222', 'tls://h:1', 'http://h:9200', 'h:1'),
  fc.string({ maxLength: 30 }),
);

test('any environment gives settings or a ConfigError naming the variable', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.oneof(fc.constantFrom(...environmentKeys), hostileKey), environmentValue), {
        maxLength: 6,
      }),
      (entries) => {
        const env = Object.fromEntries(entries);
        try {
          const settings = readSettings(env);
          assert.ok(settings.kafkaBrokers.length > 0);
        } catch (error) {
          assert.ok(error instanceof ConfigError, String(error));
          assert.ok(environmentKeys.some((key) => (error as Error).message.includes(key)));
        }
      },
    ),
    fuzzParameters(),
  );
  assertPrototypesUntouched(prototypes);
});

const optionNames = [...new Set(commands.flatMap((c) => Object.keys(c.options)))];
const argument = fc.oneof(
  fc.constantFrom(...commands.map((c) => c.name)),
  fc.constantFrom(...optionNames).map((o) => `--${o}`),
  fc.constantFrom(...optionNames).map((o) => `--${o}=`),
  fc.constantFrom('-h', '--help', '--', '-', '--__proto__', '--constructor', '-x', 'up', 'status'),
  fc.string({ maxLength: 12 }),
);

test('any command line is run, printed or refused with a message', () => {
  const text = usage();
  fc.assert(
    fc.property(fc.array(argument, { maxLength: 6 }), (argv) => {
      const line = parseCommandLine(argv, commands, text);
      if (line.kind === 'refuse') assert.match(line.message, /^cairn/);
      if (line.kind === 'print') assert.ok(line.text.length > 0);
      if (line.kind === 'run') {
        assert.equal(line.command.name, argv[0]);
        for (const name of Object.keys(line.values))
          assert.ok(name in line.command.options || name === 'help', `option ${name} is not the command's`);
      }
    }),
    fuzzParameters(500),
  );
  assertPrototypesUntouched(prototypes);
});

test('any deadletter replay options give a choice or a refusal', () => {
  const value = fc.oneof(fc.string({ maxLength: 12 }), fc.nat().map(String), fc.boolean());
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.constantFrom('reason', 'from-offset', 'limit', 'dry-run', '__proto__'), value), {
        maxLength: 4,
      }),
      (entries) => {
        const choice = replayChoiceOf(objectOf(entries) as CommandContext['values']);
        if (typeof choice === 'string') return assert.match(choice, /^--/);
        assert.ok(choice.fromOffset >= 0n && (choice.limit === undefined || choice.limit >= 1));
      },
    ),
    fuzzParameters(),
  );
  assertPrototypesUntouched(prototypes);
});
