import { describeMigrate } from './scenarios/migrate.js'

describeMigrate('sqlite', 'fs', { abandoned: 10_000, killed: 10_000, storageToStorage: 1_000 })
