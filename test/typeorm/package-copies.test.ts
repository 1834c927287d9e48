/**
 * An application compiled to CommonJS and the attrstore CLI (an ES module) load two copies
 * of @attrstore/typeorm in one process: what the application's copy registers must be what
 * the CLI's copy reads (a migration written without the entity's fileName otherwise).
 */
import 'reflect-metadata'
import { Entity, PrimaryGeneratedColumn } from 'typeorm'
import { describe, expect, it, vi } from 'vitest'
import type * as DecoratorModule from '../../packages/typeorm/src/decorator.js'

const decorator = '../../packages/typeorm/src/decorator.js'

describe('two copies of @attrstore/typeorm in one process', () => {
  it('read the options of attributes the other copy decorated', async () => {
    const application = (await import(decorator)) as typeof DecoratorModule
    const fileName = (): string => 'report.pdf'

    @Entity()
    class CopiedDocument {
      @PrimaryGeneratedColumn() id!: number
      @application.StoredAttribute({ fileName, contentType: 'application/pdf' })
      data!: Buffer | null
    }

    vi.resetModules()
    const cli = (await import(decorator)) as typeof application
    expect(cli).not.toBe(application)
    const options = cli.storedAttributeOptions(CopiedDocument, 'data')
    expect(options?.fileName).toBe(fileName)
    expect(options?.contentType).toBe('application/pdf')
  })
})
