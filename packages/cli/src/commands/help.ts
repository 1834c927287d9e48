import { createRequire } from 'node:module'
import { EXIT, type Command } from '../command.js'

/** The CLI's usage: the commands listed (by their summaries), and the options they all take. */
export function usage(commands: readonly Command[]): string {
  const listed = commands
    .filter((command) => command.summary !== undefined)
    .map((command) => `  ${command.name.padEnd(9)} ${command.summary}`)
  return `Usage: attrstore <command> -d <data-source> [options]

Commands:
${listed.join('\n')}

Options of every command:
  -d, --data-source <file>    module exporting the TypeORM DataSource (.ts, .js, ...)
      --tsconfig <file>       tsconfig.json for a TypeScript data source (default: nearest)
  -e, --entity <name>         only this entity (class or table name)
  -a, --attribute <name>      only this stored attribute (property path)
      --batch-size <n>        rows (migrate, verify) or objects (gc, stat) per batch
      --json                  print the report as JSON on stdout
      --no-progress           no progress display (it goes to stderr)
      --progress-interval <d> without a terminal, a progress line every <d> (default 10s)
  -h, --help                  this help; \`attrstore <command> --help\` for one command
  -v, --version

Durations: 24h, 90m, 30s, 2d, 500ms, 0 (a bare number is seconds).
Exit status: 0 done, 1 problems found, 2 usage or configuration error, 130 interrupted.`
}

/** `attrstore help` (`-h`, `--help`): the usage of `commands`. */
export function helpCommand(commands: readonly Command[]): Command {
  const help = usage(commands)
  return {
    name: 'help',
    aliases: ['-h', '--help'],
    help,
    async run(_args, io) {
      io.stdout.write(`${help}\n`)
      return EXIT.ok
    },
  }
}

function version(): string {
  // Resolved by name: this module runs from src/commands in the repository and from one
  // bundled file in dist/ once published, at different depths below the manifest.
  const manifest = createRequire(import.meta.url)('@attrstore/cli/package.json') as {
    version: string
  }
  return manifest.version
}

/** `attrstore --version` (`-v`): the package's version. */
export const versionCommand: Command = {
  name: '--version',
  aliases: ['-v'],
  help: 'Usage: attrstore --version',
  async run(_args, io) {
    io.stdout.write(`${version()}\n`)
    return EXIT.ok
  },
}
