import { ConfigurationError } from '@attrstore/core'

/** `type/subtype`, parameters allowed, printable ASCII only: nothing that could end a header. */
const MEDIA_TYPE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:\s*;[\x20-\x7e]*)?$/

/**
 * Checks a media type given to a signed URL or a direct upload (it goes into a header):
 * throws `ConfigurationError` for anything but `type/subtype[; parameters]` in printable ASCII.
 */
export function assertMediaType(value: unknown, what: string): string {
  if (typeof value !== 'string' || !MEDIA_TYPE.test(value)) {
    throw new ConfigurationError(
      `${what} must be a media type such as "application/pdf", got ${JSON.stringify(value)}`,
    )
  }
  return value
}
