/** Turns constraint violations the database reports into typed validation errors. */
import { ValidationError } from '../errors.ts';
import { Prisma } from '../generated/prisma/client.ts';

/**
 * Runs `fn`; a unique violation (Prisma's P2002, or SQLSTATE 23505 from a raw `pg` statement)
 * becomes ValidationError on `field` ("already in use"); a function picks the field from the error
 * when a table has more than one unique key.
 */
export async function uniqueAsValidation<T>(
  field: string | ((err: unknown) => string),
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const prismaUnique = err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002';
    const pgUnique = err instanceof Error && (err as { code?: unknown }).code === '23505';
    if (prismaUnique || pgUnique) {
      const name = typeof field === 'string' ? field : field(err);
      throw new ValidationError(`${name} is already in use`, [
        { path: [name], message: 'is already in use' },
      ]);
    }
    throw err;
  }
}
