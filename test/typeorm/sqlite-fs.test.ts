import { describeTypeormScenarios } from '../support/scenarios.js'

describeTypeormScenarios('sqlite', 'fs')
