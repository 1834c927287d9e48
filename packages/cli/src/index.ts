export { loadDataSource, isStorage } from './data-source-loader.js'
export type { LoadDataSourceOptions, LoadedDataSource } from './data-source-loader.js'
export { migrate } from './migrate.js'
export type { MigrateOptions, MigrateReport, MigrationProblem, MigrationSource } from './migrate.js'
export { collectGarbage, DEFAULT_GRACE_MS } from './gc.js'
export type { CollectGarbageOptions, GarbageReport, StoreGarbageReport, Tally } from './gc.js'
export { verify } from './verify.js'
export type {
  AttributeVerification,
  IntegrityProblem,
  VerifyOptions,
  VerifyReport,
} from './verify.js'
export { statistics } from './stat.js'
export type { AttributeStatistics, Statistics, StatisticsOptions, StoreStatistics } from './stat.js'
export { bindingLabel, groupByStorage, storageLocation } from './bindings.js'
export type { Binding, BindingFilter, StorageGroup } from './bindings.js'
export { ProgressDisplay } from './progress.js'
export type {
  ProgressDisplayOptions,
  ProgressListener,
  ProgressStream,
  ProgressUpdate,
} from './progress.js'
export { formatBytes, formatDuration, parseDuration } from './format.js'
export { main, EXIT } from './cli.js'
export type { CliIo } from './cli.js'
