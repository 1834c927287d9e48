/**
 * A vitest reporter that ends the run, naming what was running, when a test file makes no
 * progress for too long.
 *
 * vitest's own test and hook timeouts live in the worker: they cannot fire when the worker's
 * thread is blocked, and a promise that a library leaves pending outside any test (module
 * collection, a top-level await) has no timeout at all. This runs in the main process, which
 * stays responsive, and counts silence per test file: a file that reported nothing (no test,
 * hook or suite starting or ending) for `stallMs` is stalled. Then the run is ended with
 * exit status 1 instead of sitting until CI's limit.
 *
 * Test names come from vitest's events and, since a blocked worker never sends its last
 * ones, from the records its setup file (./current-test.ts) writes before each test.
 *
 * `ATTRSTORE_TEST_STALL_MS` sets the limit (default 4 minutes: above the 120 s hook timeout,
 * so that vitest's own timeouts, with their better messages, fire first when they can).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Reporter, TestCase, TestModule, TestSuite } from 'vitest/node'
import { CURRENT_TEST_DIRECTORY_VARIABLE, readCurrentTests } from './current-test-record.js'

type HookContext = Parameters<NonNullable<Reporter['onHookStart']>>[0]

interface Running {
  module: TestModule
  /** Whether the file reported anything since it was queued: a worker has it. */
  started: boolean
  /** When the file last reported anything. */
  lastEvent: number
  /** What started and has not ended yet, in order: suites, tests and hooks. */
  open: Map<string, { label: string; since: number }>
}

export default class StallWatchdog implements Reporter {
  private readonly stallMs: number
  private readonly modules = new Map<string, Running>()
  /** When any file last reported anything. */
  private lastEvent = Date.now()
  private timer: NodeJS.Timeout | undefined
  /** Where workers record their current test; inherited by the workers through the environment. */
  private readonly records: string

  constructor(options: { stallMs?: number } = {}) {
    const fromEnv = Number(process.env.ATTRSTORE_TEST_STALL_MS)
    this.stallMs = options.stallMs ?? (fromEnv > 0 ? fromEnv : 240_000)
    this.records = mkdtempSync(path.join(tmpdir(), 'attrstore-current-tests-'))
    process.env[CURRENT_TEST_DIRECTORY_VARIABLE] = this.records
    process.once('exit', () => rmSync(this.records, { recursive: true, force: true }))
  }

  onTestRunStart(): void {
    this.timer = setInterval(() => this.check(), Math.min(5_000, this.stallMs / 4))
    this.timer.unref() // never the reason the run does not end
  }

  onTestRunEnd(): void {
    clearInterval(this.timer)
  }

  onTestModuleQueued(module: TestModule): void {
    this.modules.set(module.moduleId, {
      module,
      started: false,
      lastEvent: Date.now(),
      open: new Map(),
    })
  }

  onTestModuleStart(module: TestModule): void {
    this.touch(module)
  }

  onTestModuleEnd(module: TestModule): void {
    this.modules.delete(module.moduleId)
  }

  onTestSuiteReady(suite: TestSuite): void {
    this.opened(suite.module, suite.id, `suite "${suite.fullName}"`)
  }

  onTestSuiteResult(suite: TestSuite): void {
    this.closed(suite.module, suite.id)
  }

  onTestCaseReady(test: TestCase): void {
    this.opened(test.module, test.id, `test "${test.fullName}"`)
  }

  onTestCaseResult(test: TestCase): void {
    this.closed(test.module, test.id)
  }

  onHookStart(hook: HookContext): void {
    const { entity } = hook
    const module = entity.type === 'module' ? entity : entity.module
    const owner = entity.type === 'module' ? 'the file' : `"${entity.fullName}"`
    this.opened(module, `${entity.id}:${hook.name}`, `${hook.name} hook of ${owner}`)
  }

  onHookEnd(hook: HookContext): void {
    const { entity } = hook
    this.closed(entity.type === 'module' ? entity : entity.module, `${entity.id}:${hook.name}`)
  }

  private running(module: TestModule): Running {
    let running = this.modules.get(module.moduleId)
    if (!running) {
      running = { module, started: true, lastEvent: Date.now(), open: new Map() }
      this.modules.set(module.moduleId, running)
    }
    return running
  }

  private touch(module: TestModule): Running {
    const running = this.running(module)
    running.started = true
    running.lastEvent = this.lastEvent = Date.now()
    return running
  }

  private opened(module: TestModule, id: string, label: string): void {
    const running = this.touch(module)
    running.open.set(id, { label, since: running.lastEvent })
  }

  private closed(module: TestModule, id: string): void {
    this.touch(module).open.delete(id)
  }

  private check(): void {
    const now = Date.now()
    const pending = [...this.modules.values()]
    // A file a worker has is stalled when it is silent; a file still queued, only when the
    // whole run is (a blocked worker may never report that it took its file).
    const runSilent = now - this.lastEvent > this.stallMs
    const stalled = pending.filter((running) =>
      running.started ? now - running.lastEvent > this.stallMs : runSilent,
    )
    if (!stalled.length) return
    const lines = [
      '',
      `[stall-watchdog] no progress for ${Math.round(this.stallMs / 1000)} s: ending the test run.`,
    ]
    for (const running of stalled) {
      lines.push(`  ${running.module.relativeModuleId}`)
      const open = [...running.open.values()]
      if (!running.started) lines.push('    (queued or loading: it reported nothing yet)')
      else if (!open.length) lines.push('    (loading the file, or between tests)')
      for (const { label, since } of open) {
        lines.push(`    ${label}, running for ${Math.round((now - since) / 1000)} s`)
      }
    }
    const workers = readCurrentTests(this.records)
    for (const record of workers) {
      const what = record.test ? `test "${record.test}"` : 'no test (between tests or in a hook)'
      lines.push(
        `  worker ${record.pid}: ${record.file}: ${what}, for ${Math.round((now - record.since) / 1000)} s`,
      )
    }
    process.stderr.write(`${lines.join('\n')}\n`, () => {
      // A blocked worker would outlive the run, and keep the servers it started.
      for (const { pid } of workers) {
        try {
          process.kill(pid, 'SIGKILL')
        } catch {
          // already gone
        }
      }
      process.exit(1)
    })
  }
}
