/**
 * `AttrstoreModule` in an application context (no HTTP): which DataSource it registers
 * on, when (before the application's own lifecycle hooks), and what it does on shutdown.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Inject, Injectable, Module, type OnModuleInit } from '@nestjs/common'
import { Test } from '@nestjs/testing'
import { getDataSourceToken, getRepositoryToken, TypeOrmModule } from '@nestjs/typeorm'
import { BytesFileSystemStorage } from '@attrstore/fs'
import { getStorageKey, storageBindings } from '@attrstore/typeorm'
import type { DataSource, Repository } from 'typeorm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AttrstoreModule, StorageRegistrations } from '@attrstore/nestjs'
import { Document } from './app/document.entity.js'

let directory: string
beforeAll(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'attrstore-nest-module-'))
})
afterAll(async () => {
  await rm(directory, { recursive: true, force: true })
})
let count = 0
const fresh = (name: string): string => path.join(directory, `${name}-${++count}`)

class DisposableStorage extends BytesFileSystemStorage {
  disposals = 0
  async dispose(): Promise<void> {
    this.disposals++
  }
}

/** Saves a document in its own `onModuleInit`: the storage must be registered by then. */
@Injectable()
class SavesAtInit implements OnModuleInit {
  savedKey: string | null | undefined
  constructor(
    @Inject(getRepositoryToken(Document, 'archive'))
    private readonly documents: Repository<Document>,
  ) {}
  async onModuleInit(): Promise<void> {
    const saved = await this.documents.save(
      this.documents.create({ name: 'a.txt', mediaType: 'text/plain', data: 'at init' }),
    )
    this.savedKey = getStorageKey(saved, 'data')
  }
}

function sqlite(name: string | undefined) {
  return TypeOrmModule.forRoot({
    ...(name ? { name } : {}),
    type: 'better-sqlite3',
    database: fresh('db.sqlite'),
    entities: [Document],
    synchronize: true,
  })
}

describe('AttrstoreModule', () => {
  it('forRoot registers on a named DataSource before the lifecycle hooks, and disposes on close', async () => {
    const storage = new DisposableStorage({ root: fresh('files') })
    @Module({
      imports: [
        sqlite('archive'),
        TypeOrmModule.forFeature([Document], 'archive'),
        AttrstoreModule.forRoot({
          dataSource: 'archive',
          storages: [{ entity: Document, attribute: 'data', storage }],
        }),
      ],
      providers: [SavesAtInit],
    })
    class App {}
    const module = await Test.createTestingModule({ imports: [App] }).compile()
    const app = await module.init()
    const savedKey = app.get(SavesAtInit).savedKey
    expect(savedKey).toBeDefined()
    expect((await storage.read(savedKey!)).toString()).toBe('at init')
    const dataSource = app.get<DataSource>(getDataSourceToken('archive'))
    expect(storageBindings(dataSource).map((binding) => binding.storage)).toEqual([storage])
    expect(app.get(StorageRegistrations).storageOf(Document, 'data')).toBe(storage)
    expect(app.get(StorageRegistrations).storageOf(Document, 'name')).toBeUndefined()
    await app.close()
    expect(storage.disposals).toBe(1)
    expect(storageBindings(dataSource)).toEqual([])
  })

  it('forRootAsync builds the options with what it injects; dispose: false leaves the storage alone', async () => {
    const storage = new DisposableStorage({ root: fresh('files') })
    const STORAGE = Symbol('storage')
    @Module({ providers: [{ provide: STORAGE, useValue: storage }], exports: [STORAGE] })
    class StorageModule {}
    @Module({
      imports: [
        sqlite(undefined),
        AttrstoreModule.forRootAsync({
          imports: [StorageModule],
          inject: [STORAGE],
          useFactory: (injected: BytesFileSystemStorage) => ({
            storages: [{ entity: Document, attribute: 'data', storage: injected }],
            dispose: false,
          }),
        }),
      ],
    })
    class App {}
    const module = await Test.createTestingModule({ imports: [App] }).compile()
    const app = await module.init()
    const dataSource = app.get<DataSource>(getDataSourceToken())
    const documents = dataSource.getRepository(Document)
    const saved = await documents.save(
      documents.create({ name: 'b.txt', mediaType: 'text/plain', data: 'async' }),
    )
    expect((await storage.read(getStorageKey(saved, 'data')!)).toString()).toBe('async')
    await app.close()
    expect(storage.disposals).toBe(0)
    expect(storageBindings(dataSource)).toEqual([])
  })
})
