/**
 * The graphql runtime the schema is built with. Node resolves `graphql` to its CommonJS build
 * (Pothos, Yoga and graphql-ws all get that one); a bundler-style resolver (Vite, in tests) may
 * pick the ESM build for our own files, and a second copy fails graphql's instanceof checks
 * ("Cannot use GraphQLSchema from another module or realm"). Runtime values come from here.
 */
import { createRequire } from 'node:module';

export const graphql = createRequire(import.meta.url)('graphql') as typeof import('graphql');
