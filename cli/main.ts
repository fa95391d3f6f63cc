/** The `cairn` command line: parses the command, validates configuration, dispatches. */
import { answerCollectionRequests } from '../bench/soak-collect';
import { readSettings } from '../services/config/environment';
import { redactSecrets } from '../services/config/redaction';
import { parseCommandLine } from './command-line';
import { commands, usage } from './commands';
import { describeFailure } from './failure-text';

async function main(argv: string[]): Promise<number> {
  const line = parseCommandLine(argv, commands, usage());
  if (line.kind === 'print') {
    console.log(line.text);
    return line.exitCode;
  }
  if (line.kind === 'refuse') {
    console.error(line.message);
    return 2;
  }
  const settings = readSettings();
  return line.command.run({ settings, positionals: line.positionals, values: line.values });
}

answerCollectionRequests(process.env);
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`cairn: ${redactSecrets(describeFailure(error))}`);
    process.exit(1);
  },
);
