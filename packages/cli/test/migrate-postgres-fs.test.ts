import { describeMigrate } from './scenarios/migrate.js'

describeMigrate('postgres', 'fs', { abandoned: 10_000, killed: 4_000, storageToStorage: 1_000 })
