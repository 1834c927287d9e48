import { ConfigurationError } from '@attrstore/core'
import { describe, expect, it } from 'vitest'
import { DataSourceModuleBug, isSetupError } from '../src/setup-failure.js'

const withCode = (error: Error, code: string): Error => Object.assign(error, { code })

describe('isSetupError: what the set-up is to fix, apart from bugs', () => {
  it('takes attrstore errors, driver and connection errors, and plain errors for the set-up', () => {
    expect(isSetupError(new ConfigurationError('no bucket'))).toBe(true)
    expect(isSetupError(withCode(new Error('connect ECONNREFUSED'), 'ECONNREFUSED'))).toBe(true)
    expect(isSetupError(withCode(new Error('password authentication failed'), '28P01'))).toBe(true)
    expect(isSetupError(withCode(new Error('no such database'), '3D000'))).toBe(true)
    expect(isSetupError(withCode(new Error("Cannot find module 'pg'"), 'MODULE_NOT_FOUND'))).toBe(
      true,
    )
    expect(
      isSetupError(
        new AggregateError([
          withCode(new Error('a'), 'ECONNREFUSED'),
          withCode(new Error('b'), 'ETIMEDOUT'),
        ]),
      ),
    ).toBe(true)
    class TypeORMError extends Error {}
    class CannotConnectAlreadyConnectedError extends TypeORMError {}
    expect(isSetupError(new CannotConnectAlreadyConnectedError('already connected'))).toBe(true)
    expect(isSetupError(new Error('S3_BUCKET is not set'))).toBe(true)
  })

  it('takes TypeErrors, stack overflows, Node ERR_ errors and thrown non-errors for bugs', () => {
    expect(
      isSetupError(new TypeError("Cannot read properties of undefined (reading 'root')")),
    ).toBe(false)
    expect(isSetupError(new RangeError('Maximum call stack size exceeded'))).toBe(false)
    expect(isSetupError(withCode(new TypeError('bad argument'), 'ERR_INVALID_ARG_TYPE'))).toBe(
      false,
    )
    expect(isSetupError(new AggregateError([new Error('a'), new TypeError('b')]))).toBe(false)
    expect(isSetupError('a string')).toBe(false)
  })

  it("a bug keeps the cause's stack under a line naming the module and the step", () => {
    const cause = new TypeError('x is undefined')
    const bug = new DataSourceModuleBug(
      '/app/ds.ts',
      'its configureStorages(dataSource) failed',
      cause,
    )
    expect(bug.cause).toBe(cause)
    expect(bug.stack).toBe(`/app/ds.ts: its configureStorages(dataSource) failed:\n${cause.stack}`)
  })
})
