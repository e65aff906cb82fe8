/**
 * The real server on 127.0.0.1 and an ephemeral port, on a fresh test database.
 */
import { type App, buildApp } from '../../src/app.ts';
import { createTestDatabase, type TestDatabase, testLog } from './db.ts';

export interface GraphQLResponse<T = Record<string, any>> {
  data?: T;
  errors?: { message: string; path?: string[]; extensions?: Record<string, unknown> }[];
}

export interface TestApp {
  app: App;
  db: TestDatabase;
  url: string;
  graphqlUrl: string;
  wsUrl: string;
  /** POSTs a GraphQL operation; `token` becomes `Authorization: Bearer <token>`. */
  gql<T = Record<string, any>>(
    query: string,
    variables?: Record<string, unknown>,
    token?: string,
  ): Promise<GraphQLResponse<T>>;
  stop(): Promise<void>;
}

export async function startTestApp(opts: { seed?: boolean; db?: TestDatabase } = {}): Promise<TestApp> {
  const db = opts.db ?? (await createTestDatabase({ seed: opts.seed }));
  const app = buildApp({ databaseUrl: db.url, log: testLog, poolSize: 8 });
  const { url } = await app.start(0, '127.0.0.1');
  const graphqlUrl = `${url}/graphql`;
  return {
    app,
    db,
    url,
    graphqlUrl,
    wsUrl: graphqlUrl.replace(/^http/, 'ws'),
    async gql(query, variables, token) {
      const res = await fetch(graphqlUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ query, variables }),
      });
      return (await res.json()) as GraphQLResponse<any>;
    },
    async stop() {
      await app.stop();
      if (!opts.db) await db.drop();
    },
  };
}
