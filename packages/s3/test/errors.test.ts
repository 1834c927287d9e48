import {
  ConfigurationError,
  ObjectNotFoundError,
  RangeNotSatisfiableError,
  StorageUnavailableError,
} from '@attrstore/core'
import { describe, expect, it } from 'vitest'
import { toStorageError } from '../src/errors.js'

// Errors shaped as the AWS SDK builds them from a server that sends an empty <Message>
// (Ceph RGW): the SDK's message is then "UnknownError". Code and status must decide.
function sdkError(name: string, status: number, message = 'UnknownError') {
  return Object.assign(new Error(message), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, attempts: 1 },
  })
}

const context = {
  operation: 'read',
  bucket: 'files',
  endpoint: 'http://127.0.0.1:7480',
  reference: 'a/b.txt',
  objectKey: 'app/a/b.txt',
}

describe('toStorageError on answers without a message', () => {
  it('a 404 whose code says nothing is still a not-found', () => {
    expect(toStorageError(sdkError('UnknownError', 404), context)).toBeInstanceOf(
      ObjectNotFoundError,
    )
  })

  it('refused credentials name the code and status, not "UnknownError"', () => {
    const mapped = toStorageError(sdkError('SignatureDoesNotMatch', 403), context) as Error
    expect(mapped).toBeInstanceOf(ConfigurationError)
    expect(mapped.message).toContain('(SignatureDoesNotMatch, HTTP 403)')
    expect(mapped.message).not.toContain('UnknownError')
  })

  it('a range past the end says so with the code and status', () => {
    const mapped = toStorageError(sdkError('InvalidRange', 416), context) as Error
    expect(mapped).toBeInstanceOf(RangeNotSatisfiableError)
    expect(mapped.message).toContain('past the end of the object (InvalidRange, HTTP 416)')
  })

  it('a server fault names the code and status; a real message is kept', () => {
    const silent = toStorageError(sdkError('InternalError', 500), context) as Error
    expect(silent).toBeInstanceOf(StorageUnavailableError)
    expect(silent.message).toContain(': InternalError, HTTP 500')
    expect(silent.message).not.toContain('UnknownError')
    const said = toStorageError(
      sdkError('SlowDown', 503, 'Please reduce your request rate.'),
      context,
    )
    expect((said as Error).message).toContain(
      'SlowDown, HTTP 503: Please reduce your request rate.',
    )
  })
})
