/**
 * `@attrstore/cli` as a library: the commands (`migrate`, `collectGarbage`, `verify`,
 * `statistics`), the data source loader, the progress display and `main`, with the types
 * of their options and reports.
 *
 * @packageDocumentation
 */
export { loadDataSource } from './data-source-loader.js'
export type { LoadDataSourceOptions, LoadedDataSource } from './data-source-loader.js'
export { migrate } from './migrate.js'
export type { MigrateOptions, MigrateReport, MigrationProblem, MigrationSource } from './migrate.js'
export { collectGarbage } from './gc.js'
export type { CollectGarbageOptions, GarbageReport, StoreGarbageReport } from './gc.js'
export type { Tally } from './store-scan.js'
export { verify } from './verify.js'
export type {
  AttributeVerification,
  IntegrityProblem,
  VerifyOptions,
  VerifyReport,
} from './verify.js'
export { statistics } from './stat.js'
export type { AttributeStatistics, Statistics, StatisticsOptions, StoreStatistics } from './stat.js'
export type { Binding, BindingFilter } from './bindings.js'
export { ProgressDisplay } from './progress.js'
export type {
  ProgressDisplayOptions,
  ProgressListener,
  ProgressStream,
  ProgressUpdate,
} from './progress.js'
export { main, EXIT } from './cli.js'
export { InvalidOptionError } from './invalid-option.js'
export type { CliIo } from './cli.js'
