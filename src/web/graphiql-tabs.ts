/**
 * The tabs GraphiQL opens with on a browser's first visit (later visits keep the browser's own
 * tabs): how to sign in or paste a token into the Headers tab, a query and a subscription to try.
 */

const SIGN_IN = `# Welcome to the Branchline API.
#
# 1. Sign in: run this mutation with your email and password (or, as an integrator, ask an
#    admin for an API token: web app > API tokens; it is shown once).
# 2. Copy the token from the result into the Headers tab below, replacing <token>:
#      { "Authorization": "Bearer bl_..." }
# 3. Open the next tabs: a query and a live subscription.
#
# Without a token only login, health and introspection answer (UNAUTHENTICATED otherwise).
# docs/api.md in the repository describes every type, error and limit.

mutation SignIn {
  login(email: "you@example.com", password: "your password") {
    __typename
    ... on MutationLoginSuccess {
      data { token expiresAt user { name role } }
    }
    ... on Error { message }
  }
}
`;

const QUERY = `# Needs the Authorization header (first tab). Lists come with feedCursor: subscribe
# from it (next tab) and you miss no change made after this read.

query LowStock {
  me { name role branches { code } }
  stockLevels(lowStockOnly: true, first: 20) {
    feedCursor
    edges {
      node { quantity reorderLevel version branch { code } product { sku name unitPrice } }
    }
  }
}
`;

const SUBSCRIPTION = `# Every change you may see, live (paste a feedCursor into "after" to start from a read).
# Keep the last "cursor" you received and resubscribe from it after a disconnect.

subscription Changes {
  changes(after: null, tables: ["products", "stock_levels", "orders"]) {
    cursor table op rowId version changedFields actor at data
  }
}
`;

const HEADERS = `{
  "Authorization": "Bearer <token>"
}`;

export const GRAPHIQL_TABS = [
  { query: SIGN_IN, headers: HEADERS },
  { query: QUERY, headers: HEADERS },
  { query: SUBSCRIPTION, headers: HEADERS },
];
