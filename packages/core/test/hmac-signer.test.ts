/** HmacSigner against tampered signatures: one payload has exactly one signature that verifies. */
import { describe, expect, it } from 'vitest'
import { HmacSigner } from '../src/driver.js'

const signer = new HmacSigner(
  { secret: 'a secret of more than thirty-two bytes, for tests' },
  'test',
)

describe('HmacSigner.verify', () => {
  it('accepts the signature it made, under its purpose only', () => {
    const signature = signer.sign('payload')
    expect(signer.verify('payload', signature)).toBe(true)
    expect(signer.verify('payload2', signature)).toBe(false)
    const other = new HmacSigner(
      { secret: 'a secret of more than thirty-two bytes, for tests' },
      'other',
    )
    expect(other.verify('payload', signature)).toBe(false)
  })

  it('refuses every other spelling of the signature: padding, stray characters, case, other bits', () => {
    const signature = signer.sign('payload')
    const last = signature.at(-1)!
    // base64url's last of 43 characters carries 4 bits and 2 unused ones: flip the unused.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const index = alphabet.indexOf(last)
    const sameBits = alphabet[index ^ 1]!
    const spellings = [
      `${signature}=`,
      `${signature}!`,
      ` ${signature}`,
      `${signature.slice(0, 10)}.${signature.slice(10)}`,
      signature.replaceAll('-', '+').replaceAll('_', '/'),
      `${signature.slice(0, -1)}${sameBits}`,
      signature.toUpperCase(),
      '',
    ].filter((spelling) => spelling !== signature)
    for (const spelling of spellings)
      expect(signer.verify('payload', spelling), JSON.stringify(spelling)).toBe(false)
  })
})
