import { describeMigrate } from './scenarios/migrate.js'

describeMigrate('postgres', 's3', { abandoned: 2_000, killed: 1_000, storageToStorage: 400 })
