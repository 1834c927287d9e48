import { defineConfig } from 'vitest/config'
import StallWatchdog from './test/runner/stall-watchdog.js'

export default defineConfig({
  resolve: {
    // Tests run against the TypeScript sources: no build needed between an edit and a test.
    conditions: ['@attrstore/source'],
  },
  ssr: {
    resolve: {
      conditions: ['@attrstore/source'],
    },
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    setupFiles: ['./test/runner/current-test.ts'],
    // A file silent for minutes ends the run, naming what it was running (see the reporter).
    // CI also writes a JSON summary, from which .ci/run prints its closing count.
    reporters: [
      'default',
      new StallWatchdog(),
      ...(process.env.CI
        ? [['json', { outputFile: 'test-results/vitest.json' }] as ['json', { outputFile: string }]]
        : []),
    ],
  },
})
