/**
 * Real clients nobody here wrote (the aws CLI, boto3, s3cmd, curl...) run as child
 * processes: with the environment given and nothing else, killed after a timeout, their
 * stderr in the error when they fail.
 */
import { execFile } from 'node:child_process'

/** How long one client call may take by default before it is killed. */
export const CLIENT_TIMEOUT_MS = 60_000

/** Options of {@link runClient}. */
export interface RunClientOptions {
  /** Killed (SIGKILL) after this long. Default {@link CLIENT_TIMEOUT_MS}. */
  timeoutMs?: number
}

/**
 * Runs `command` with `args` and exactly the environment `env`, resolving to its stdout;
 * rejects, quoting the command line and its stderr, when it fails or outlives the timeout.
 */
export function runClient(
  command: string,
  args: string[],
  env: Record<string, string>,
  options: RunClientOptions = {},
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      {
        env,
        timeout: options.timeoutMs ?? CLIENT_TIMEOUT_MS,
        killSignal: 'SIGKILL',
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'buffer',
      },
      (error, stdout, stderr) => {
        if (error)
          reject(
            new Error(
              `${command} ${args.join(' ')} failed: ${error.message}\n${stderr.toString()}`,
            ),
          )
        else resolve(stdout)
      },
    )
  })
}

/**
 * Why the client `name` cannot run here (`"<name> cannot run here (<first line of the
 * error>)"`), found by running a harmless command of it (`aws --version`, `python3 -c
 * 'import boto3'`); undefined when it ran.
 */
export function whyClientCannotRun(
  name: string,
  command: string,
  args: string[],
  env: Record<string, string>,
): Promise<string | undefined> {
  return runClient(command, args, env).then(
    () => undefined,
    (error: Error) => `${name} cannot run here (${error.message.split('\n')[0]})`,
  )
}
