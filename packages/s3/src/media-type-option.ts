import { ConfigurationError } from '@attrstore/core'
import { isMediaType } from '@attrstore/core/driver'

/**
 * Checks a media type given to a signed URL or a direct upload (it goes into a header):
 * throws `ConfigurationError` for anything but `type/subtype[; parameters]` (`isMediaType`).
 */
export function assertMediaType(value: unknown, what: string): string {
  if (typeof value !== 'string' || !isMediaType(value)) {
    throw new ConfigurationError(
      `${what} must be a media type such as "application/pdf", got ${JSON.stringify(value)}`,
    )
  }
  return value
}
