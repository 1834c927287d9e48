export { PostgresUnavailableError, startPostgres } from './postgres.js'
export type { StartPostgresOptions, TestPostgres } from './postgres.js'
export { freePort } from './ports.js'
export { InstrumentedStorage } from './instrumented-storage.js'
export type { InjectedFault, StorageOperation } from './instrumented-storage.js'
export { firstJsonLine, spawnFixture } from './fixture-process.js'
export type { FixtureProcess, SpawnFixtureOptions } from './fixture-process.js'
export * from './s3.js'
export { listenOnLoopback, startHttpServer } from './http-server.js'
export type { LoopbackServer } from './http-server.js'
export { CLIENT_TIMEOUT_MS, runClient, whyClientCannotRun } from './client-process.js'
export type { RunClientOptions } from './client-process.js'
export {
  CHROMIUM_PATH,
  ChromiumUnavailableError,
  chromiumMissingFor,
  launchChromium,
} from './chromium.js'
export type { LaunchChromiumOptions } from './chromium.js'
export { awsCli } from './aws-cli.js'
export type { AwsCli, AwsCliTarget } from './aws-cli.js'
