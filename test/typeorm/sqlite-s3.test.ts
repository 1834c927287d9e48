import { describeTypeormScenarios } from '../support/scenarios.js'

describeTypeormScenarios('sqlite', 's3')
