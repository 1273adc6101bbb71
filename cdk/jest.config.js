/** The construct's tests: TypeScript through ts-jest, against aws-cdk-lib's assertions. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  setupFiles: ['<rootDir>/test/setup.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: { rootDir: '.', types: ['node', 'jest'] } }] },
  // Synthesising a pipeline takes a few seconds on a small machine.
  testTimeout: 60000,
};
