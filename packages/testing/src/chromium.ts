/**
 * Headless Chromium for browser tests, through playwright-core (an optional peer
 * dependency) and a Chromium installed on the machine (Debian's `chromium`): no browser
 * download. Where Chromium is missing a test is skipped, saying why, except under CI,
 * where a missing browser is a failure.
 */
import { existsSync } from 'node:fs'
import type { Browser } from 'playwright-core'
import { loadOptional } from './optional-dependency.js'

/** Where Debian's (and Ubuntu's) `chromium` package installs the browser. */
export const CHROMIUM_PATH = '/usr/bin/chromium'

/** Chromium, or playwright-core that drives it, cannot run here. */
export class ChromiumUnavailableError extends Error {
  constructor(reason: string, options?: { cause?: unknown }) {
    super(reason, options)
    this.name = 'ChromiumUnavailableError'
  }
}

/** Whether `env` says the tests run under CI (`CI` set, and not to `''`, `0` or `false`). */
function underCi(env: Record<string, string | undefined>): boolean {
  const value = env.CI?.trim().toLowerCase()
  return value !== undefined && value !== '' && value !== '0' && value !== 'false'
}

/**
 * Why the Chromium tests of `what` cannot run here, or undefined when Chromium is at
 * `executablePath` (default {@link CHROMIUM_PATH}). When it is missing this prints
 * `[skip] <what>: <reason>`, or, under CI, throws {@link ChromiumUnavailableError}: CI must
 * install it. Call it at the top of a test file and skip on its answer:
 *
 * ```ts
 * const chromiumMissing = chromiumMissingFor('my page in Chromium')
 * describe.skipIf(chromiumMissing !== undefined)('my page', () => { ... })
 * ```
 */
export function chromiumMissingFor(
  what: string,
  options: { executablePath?: string; env?: Record<string, string | undefined> } = {},
): string | undefined {
  const executablePath = options.executablePath ?? CHROMIUM_PATH
  if (existsSync(executablePath)) return undefined
  const reason = `Chromium is not installed at ${executablePath} (Debian package chromium)`
  if (underCi(options.env ?? process.env))
    throw new ChromiumUnavailableError(`CI must install Chromium for ${what}: ${reason}`)
  console.warn(`[skip] ${what}: ${reason}`)
  return reason
}

/** Options of {@link launchChromium}. */
export interface LaunchChromiumOptions {
  /** Default {@link CHROMIUM_PATH}. */
  executablePath?: string
  /** Added to `--no-sandbox` (the tests may run as root, where the sandbox refuses to start). */
  args?: string[]
  /** How long the launch may take (default 30 s). */
  timeoutMs?: number
}

/**
 * Launches headless Chromium through playwright-core. Rejects with
 * {@link ChromiumUnavailableError} when playwright-core is not installed.
 */
export async function launchChromium(options: LaunchChromiumOptions = {}): Promise<Browser> {
  const { chromium } = await loadOptional(
    {
      name: 'playwright-core',
      neededBy: 'launchChromium()',
      unavailable: (reason, cause) => new ChromiumUnavailableError(reason, cause),
    },
    () => import('playwright-core'),
  )
  return chromium.launch({
    executablePath: options.executablePath ?? CHROMIUM_PATH,
    args: ['--no-sandbox', ...(options.args ?? [])],
    timeout: options.timeoutMs ?? 30_000,
  })
}
