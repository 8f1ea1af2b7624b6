import { operatorContext } from '../../src/domain/principal.js';

/** The access context tests act under: an operator for every tenant. */
export const CTX = operatorContext('test-operator', 'vitest');
