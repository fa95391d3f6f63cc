/** The `cairn` command line → what to do: print usage or help, refuse with exit code 2, or run. */
import { parseArgs } from 'node:util';
import type { Command, CommandContext } from './commands';

export type CommandLine =
  | { kind: 'print'; text: string; exitCode: number }
  | { kind: 'refuse'; message: string }
  | { kind: 'run'; command: Command; positionals: string[]; values: CommandContext['values'] };

export function parseCommandLine(argv: string[], commands: Command[], usage: string): CommandLine {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h')
    return { kind: 'print', text: usage, exitCode: name === undefined ? 2 : 0 };
  const command = commands.find((c) => c.name === name);
  if (command === undefined)
    return { kind: 'refuse', message: `cairn: unknown command '${name}'\n\n${usage}` };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    return { kind: 'refuse', message: `cairn ${name}: ${(error as Error).message}\n\n${command.help}` };
  }
  if (parsed.values.help) return { kind: 'print', text: command.help, exitCode: 0 };
  return { kind: 'run', command, positionals: parsed.positionals, values: parsed.values };
}
