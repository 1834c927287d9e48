/**
 * An option out of its range (`graceMs` below 0, a `--from-column` that is no plain column
 * name, a duration too long): the caller's mistake, which the command line reports on one
 * line with exit status 2. A `RangeError`, as it always was, but one thrown on purpose:
 * other `RangeError`s (a stack overflow) are bugs, reported with their stack.
 */
export class InvalidOptionError extends RangeError {
  override name = 'InvalidOptionError'
}
