/**
 * Tests hash passwords at scrypt N = 2^10 instead of the production 2^17 (PASSWORD_HASH_COST):
 * thousands of sign-ins and seeded users would otherwise take minutes. Importing this module sets
 * it for the test process; server processes get it as the `passwordHashCost` option.
 */
import { configurePasswordHashing } from '../../src/auth/password.ts';

export const TEST_HASH_COST = 10;

configurePasswordHashing({ cost: TEST_HASH_COST });
