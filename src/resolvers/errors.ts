/** Turns constraint violations the database reports into typed validation errors. */
import { ValidationError } from '../errors.ts';
import { Prisma } from '../generated/prisma/client.ts';

/** Runs `fn`; a unique violation (P2002) becomes ValidationError on `field` ("already in use"). */
export async function uniqueAsValidation<T>(field: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
      throw new ValidationError(`${field} is already in use`, [
        { path: [field], message: 'is already in use' },
      ]);
    }
    throw err;
  }
}
