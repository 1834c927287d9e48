/** What a migration found wrong with a row: reported, counted, and the row left as it was. */
export interface MigrationProblem {
  /**
   * `missing`: the source has no bytes for a row that should have them; `corrupt`: the
   * source does not match its recorded SHA-256, or the copy did not verify; `conflict`: the
   * row already has an object that differs from its source; `error`: anything else.
   */
  kind: 'missing' | 'corrupt' | 'conflict' | 'error'
  id: string
  key?: string
  detail: string
}

/** What {@link migrate} did (dry run: would do). */
export interface MigrateReport {
  /** `Document.body` */
  attribute: string
  /** `column legacy_body` or the source storage's location. */
  source: string
  destination: string
  dryRun: boolean
  /** Rows looked at. */
  scanned: number
  /** Rows given a new key (dry run: that would be). */
  copied: number
  /** Bytes copied (dry run: that would be). */
  bytes: number
  /** Rows already done by an earlier run, left alone. */
  alreadyMigrated: number
  /** Source copies deleted: objects, or column values cleared (dry run: that would be). */
  sourceDeleted: number
  /** Rows changed by someone else between read and update: left as they were, their copy deleted. */
  changedConcurrently: number
  problemCount: number
  problems: MigrationProblem[]
  /** False when stopped by a signal. */
  complete: boolean
  /** Primary key of the last row of the last committed batch (`--after` to resume from there). */
  lastCommitted?: string
}
