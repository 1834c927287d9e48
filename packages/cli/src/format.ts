/** Small formatting and parsing helpers shared by the commands and the progress display. */

import { InvalidOptionError } from './invalid-option.js'

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']

/** `1536` → `"1.5 KiB"`. */
export function formatBytes(bytes: number): string {
  let value = bytes
  let unit = 0
  while (Math.abs(value) >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${BYTE_UNITS[unit]}`
}

/** `12345` → `"12,345"`. */
export function formatCount(count: number): string {
  return Math.round(count).toLocaleString('en-US')
}

/** `3723000` → `"1h02m03s"`, `86400000` → `"24h"`, `4200` → `"4.2s"`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?'
  if (ms === 0) return '0s'
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`
  const total = Math.round(ms / 1000)
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = total % 60
  const pad = (n: number): string => String(n).padStart(2, '0')
  if (h > 0) return `${h}h${m || s ? `${pad(m)}m` : ''}${s ? `${pad(s)}s` : ''}`
  if (m > 0) return `${m}m${s ? `${pad(s)}s` : ''}`
  return `${s}s`
}

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
}

const LONGEST_DURATION_MS = 36_500 * DURATION_UNITS.d!

/**
 * Parses a duration such as `24h`, `90m`, `30s`, `2d`, `500ms` or `0`. A bare number is in
 * seconds, at most 100 years. Throws an {@link InvalidOptionError} (a `RangeError`) on anything else.
 */
export function parseDuration(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(text)
  if (!match) {
    throw new InvalidOptionError(
      `Invalid duration ${JSON.stringify(text)}: use a number with a unit, e.g. 24h, 90m, 30s, 2d, 0`,
    )
  }
  const unit = (match[2] ?? 's').toLowerCase()
  const ms = Math.round(Number(match[1]) * DURATION_UNITS[unit]!)
  // Beyond this, "now minus the grace period" is no longer a date anyone means (or at all).
  if (ms > LONGEST_DURATION_MS) {
    throw new InvalidOptionError(
      `Duration ${JSON.stringify(text)} is too long: at most 36500d (100 years)`,
    )
  }
  return ms
}

/** Renders rows as an aligned plain-text table (numbers right-aligned). */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  )
  const numeric = header.map((_, column) =>
    rows.every((row) => /^[-\d.,]+( [KMGTP]?i?B)?$|^-$/.test(row[column] ?? '')),
  )
  const line = (cells: string[]): string =>
    cells
      .map((cell, column) =>
        numeric[column] ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!),
      )
      .join('  ')
      .trimEnd()
  return [line(header), ...rows.map(line)].join('\n')
}
