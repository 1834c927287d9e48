import { parseArgs, type ParseArgsConfig } from 'node:util'
import type { Binding } from './bindings.js'
import { loadDataSource, type LoadedDataSource } from './data-source-loader.js'
import { parseDuration } from './format.js'
import { assertStoredColumnsExist } from './schema-check.js'
import { ProgressDisplay, type ProgressListener, type ProgressStream } from './progress.js'

/** Where the CLI writes, and what it listens to: the process's by default, fakes in tests. */
export interface CliIo {
  stdout: ProgressStream
  stderr: ProgressStream
  /** Subscribes to Ctrl-C / SIGTERM; returns the unsubscribe function. */
  onInterrupt?: (handler: (signal: 'SIGINT' | 'SIGTERM') => void) => () => void
}

export const EXIT = { ok: 0, problems: 1, usage: 2, interrupted: 130 } as const

/** A command line the CLI refuses: printed with the command's help, exit status 2. */
export class UsageError extends Error {}

/** One command of the CLI, as the dispatcher sees it. */
export interface Command {
  name: string
  /** Other names it answers to (`-h` for `help`). */
  aliases?: readonly string[]
  /** One line for the list of commands; commands without one are not listed. */
  summary?: string
  help: string
  /**
   * Runs the command with the arguments after its name (`argv`: the whole command line);
   * resolves with the exit status. Throws {@link UsageError} for a wrong command line.
   */
  run(args: readonly string[], io: CliIo, argv: readonly string[]): Promise<number>
}

type Options = NonNullable<ParseArgsConfig['options']>

/** The options every command working on a data source takes. */
export const COMMON_OPTIONS = {
  'data-source': { type: 'string', short: 'd' },
  tsconfig: { type: 'string' },
  json: { type: 'boolean' },
  'no-progress': { type: 'boolean' },
  'progress-interval': { type: 'string' },
  entity: { type: 'string', short: 'e' },
  attribute: { type: 'string', short: 'a' },
  'batch-size': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options

/** Parsed option values: a string or a boolean flag, undefined when not given. */
export type OptionValues<O extends Options> = {
  [K in keyof O]?: O[K] extends { type: 'boolean' } ? boolean : string
}

/** What a command's `run` works with. */
export interface CommandRun<O extends Options> {
  values: OptionValues<typeof COMMON_OPTIONS & O>
  /** The whole command line, the command's name first. */
  argv: readonly string[]
  /** `--json`: the report goes to stdout as JSON. */
  json: boolean
  /** `--batch-size`, checked. */
  batchSize: number | undefined
  out(line?: string): void
  err(line: string): void
  /** A line on stderr, above the progress display. */
  say(line: string): void
  /** Ctrl-C once: stop after the current batch. */
  stop: AbortSignal
  /** Ctrl-C twice (commands that settle a batch): abandon the batch in progress. */
  abandon: AbortSignal
  /**
   * Starts the progress display and the Ctrl-C handling, and loads the data source: called
   * once the command's own options are checked, so that everything the command line can get
   * wrong is refused before the data source is loaded.
   */
  open(): Promise<OpenedDataSource>
  /** Ends the progress display and prints the report: as JSON with `--json`, else with `text`. */
  print<R>(report: R, text: (out: (line?: string) => void, report: R) => void): void
}

export interface OpenedDataSource {
  loaded: LoadedDataSource
  /** What every library call takes: the bindings, the `-e`/`-a` filter, the progress listener. */
  common: {
    bindings: Binding[]
    entity: string | undefined
    attribute: string | undefined
    onProgress: ProgressListener | undefined
  }
}

/** A command working on a data source: its options (beside {@link COMMON_OPTIONS}), help, and run. */
export interface CommandDefinition<O extends Options> {
  name: string
  summary: string
  options: O
  help: string
  /** Ctrl-C twice abandons the batch in progress; without it, Ctrl-C twice exits at once. */
  settlesBatch?: boolean
  run(run: CommandRun<O>): Promise<number>
}

/** `--name <n>`: a positive integer, or undefined when not given. */
export function positiveInteger(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined
  const number = Number(value)
  if (!Number.isSafeInteger(number) || number <= 0)
    throw new UsageError(`--${name} must be a positive integer, got ${JSON.stringify(value)}`)
  return number
}

/** `--name <duration>`: in milliseconds, or undefined when not given. */
export function duration(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined
  try {
    return parseDuration(value)
  } catch (error) {
    throw new UsageError(`--${name}: ${(error as Error).message}`)
  }
}

/**
 * Defines a command working on a data source: parses its options with `node:util`'s
 * `parseArgs` (strict, no positionals), answers `--help`, checks the options every command
 * shares, and gives `run` the output, the signals of Ctrl-C, and the data source; the
 * progress display ends and the data source is closed whatever happens.
 */
export function command<const O extends Options>(definition: CommandDefinition<O>): Command {
  const { name, summary, help } = definition
  const options = { ...COMMON_OPTIONS, ...definition.options }
  return {
    name,
    summary,
    help,
    async run(args, io, argv) {
      const out = (line = ''): void => void io.stdout.write(`${line}\n`)
      const err = (line: string): void => void io.stderr.write(`${line}\n`)
      let values: OptionValues<typeof COMMON_OPTIONS & O>
      try {
        values = parseArgs({ args: [...args], options, allowPositionals: false, strict: true })
          .values as OptionValues<typeof COMMON_OPTIONS & O>
      } catch (error) {
        throw new UsageError((error as Error).message)
      }
      // The options every command takes, typed as such whatever the command's own.
      const shared = values as OptionValues<typeof COMMON_OPTIONS>
      if (shared.help) {
        out(help)
        return EXIT.ok
      }
      const file = shared['data-source']
      if (!file) throw new UsageError('-d, --data-source <file> is required')
      const batchSize = positiveInteger(shared['batch-size'], 'batch-size')
      const intervalMs = duration(shared['progress-interval'], 'progress-interval')

      let progress: ProgressDisplay | undefined
      const say = (line: string): void => (progress ? progress.log(line) : err(line))
      // Ctrl-C once: stop after the current batch. Twice: abandon it. Three times: exit now.
      const stop = new AbortController()
      const abandon = new AbortController()
      let interrupts = 0
      let unsubscribe: (() => void) | undefined
      let loaded: LoadedDataSource | undefined
      const onInterrupt = (signal: 'SIGINT' | 'SIGTERM'): void => {
        interrupts++
        // gc, verify and stat may stop anywhere: only a migration has a batch to settle.
        const settles = definition.settlesBatch === true
        if (interrupts === 1 && signal === 'SIGINT') {
          stop.abort()
          say(
            `\nStopping after the current batch (Ctrl-C again to ${settles ? 'abandon it' : 'exit now'}).`,
          )
        } else if (settles && interrupts <= 2) {
          abandon.abort()
          stop.abort()
          say(
            '\nStopping now: the batch in progress is abandoned (nothing of it committed, its copies deleted).',
          )
        } else {
          say('Exiting now.')
          process.exit(EXIT.interrupted)
        }
      }
      try {
        return await definition.run({
          values,
          argv,
          json: shared.json === true,
          batchSize,
          out,
          err,
          say,
          stop: stop.signal,
          abandon: abandon.signal,
          async open() {
            if (!shared['no-progress'])
              progress = new ProgressDisplay({
                stream: io.stderr,
                intervalMs: intervalMs ?? 10_000,
              })
            unsubscribe = io.onInterrupt?.(onInterrupt)
            loaded = await loadDataSource(file, { tsconfig: shared.tsconfig })
            const bindings = loaded.bindings()
            await assertStoredColumnsExist(loaded.dataSource, bindings, {
              entity: shared.entity,
              attribute: shared.attribute,
            })
            return {
              loaded,
              common: {
                bindings,
                entity: shared.entity,
                attribute: shared.attribute,
                onProgress: progress?.listener,
              },
            }
          },
          print(report, text) {
            progress?.close()
            if (shared.json) out(JSON.stringify(report, null, 2))
            else text(out, report)
          },
        })
      } finally {
        progress?.close()
        unsubscribe?.()
        await loaded?.destroy().catch(() => {})
      }
    },
  }
}
