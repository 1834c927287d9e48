import {
  Module,
  type DynamicModule,
  type FactoryProvider,
  type InjectionToken,
  type ModuleMetadata,
  type OptionalFactoryDependency,
} from '@nestjs/common'
import { getDataSourceToken } from '@nestjs/typeorm'
import type { DataSource } from 'typeorm'
import {
  ATTRSTORE_OPTIONS,
  StorageRegistrations,
  type AttrstoreModuleOptions,
} from './storage-registrations.js'

/** Which TypeORM DataSource: its name in `TypeOrmModule.forRoot({ name })`; default, the unnamed one. */
export interface DataSourceSelection {
  dataSource?: string
}

/** The options of {@link AttrstoreModule.forRootAsync}: a factory and what it injects. */
export interface AttrstoreModuleAsyncOptions
  extends DataSourceSelection, Pick<ModuleMetadata, 'imports'> {
  useFactory: (...args: never[]) => AttrstoreModuleOptions | Promise<AttrstoreModuleOptions>
  inject?: Array<InjectionToken | OptionalFactoryDependency>
}

/**
 * Registers storages of stored attributes on the application's TypeORM DataSource (the one
 * `TypeOrmModule.forRoot()` built), as `setStorage()` does in a script: at start-up, before
 * any lifecycle hook (`onModuleInit`...) of the application runs, so that no entity is
 * saved or loaded without them. On shutdown it unregisters them and disposes those that
 * declare `dispose()` (unless `dispose: false`): the module owns the storages it is given.
 *
 * ```ts
 * AttrstoreModule.forRoot({ storages: [{ entity: File, attribute: 'data', storage }] })
 * ```
 */
@Module({})
export class AttrstoreModule {
  /** Registers storages built before the module (their options known at import time). */
  static forRoot(options: AttrstoreModuleOptions & DataSourceSelection): DynamicModule {
    return AttrstoreModule.withOptions(options.dataSource, {
      provide: ATTRSTORE_OPTIONS,
      useFactory: () => options,
    })
  }

  /** Registers storages a factory builds, with what it injects (a `ConfigService`...). */
  static forRootAsync(options: AttrstoreModuleAsyncOptions): DynamicModule {
    return AttrstoreModule.withOptions(
      options.dataSource,
      {
        provide: ATTRSTORE_OPTIONS,
        useFactory: options.useFactory as (...args: unknown[]) => AttrstoreModuleOptions,
        inject: options.inject ?? [],
      },
      options.imports,
    )
  }

  private static withOptions(
    dataSourceName: string | undefined,
    optionsProvider: FactoryProvider<AttrstoreModuleOptions>,
    imports: ModuleMetadata['imports'] = [],
  ): DynamicModule {
    const registrations: FactoryProvider<StorageRegistrations> = {
      provide: StorageRegistrations,
      useFactory: (options: AttrstoreModuleOptions, dataSource: DataSource) =>
        new StorageRegistrations(dataSource, options),
      inject: [ATTRSTORE_OPTIONS, getDataSourceToken(dataSourceName)],
    }
    return {
      module: AttrstoreModule,
      imports,
      providers: [optionsProvider, registrations],
      exports: [StorageRegistrations],
    }
  }
}
