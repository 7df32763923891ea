import type { Config } from 'jest';

const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': 'ts-jest',
    // jose is ES modules only: Jest gets it bundled as CommonJS (test/helpers/joseCommonJs.cjs).
    'joseCommonJs\\.cjs$': '<rootDir>/test/helpers/transformJose.cjs',
  },
  moduleNameMapper: { '^jose$': '<rootDir>/test/helpers/joseCommonJs.cjs' },
  // Builds one migrated template database; each test file copies it.
  globalSetup: '<rootDir>/test/helpers/globalSetup.ts',
  globalTeardown: '<rootDir>/test/helpers/globalTeardown.ts',
  testTimeout: 60_000,
  maxWorkers: 2,
};

export default config;
