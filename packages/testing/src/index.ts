export { startPostgres } from './postgres.js'
export type { StartPostgresOptions, TestPostgres } from './postgres.js'
export { freePort } from './ports.js'
export * from './s3.js'
