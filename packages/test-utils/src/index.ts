export * from './fixtures.js';
export * from './ref.js';
