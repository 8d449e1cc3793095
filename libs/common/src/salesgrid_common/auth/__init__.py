"""Caller identity inside the platform: JWT verification against identity's JWKS, the
`Principal` it yields, and data-scope filters for SQL queries. Everything fails closed.

- principal.py: `Principal` (permissions, data scopes, IP allow-list) and the verified caller of
  the RPC being handled (`current_principal`, `caller()`).
- scope_filters.py: WHERE clauses limiting rows to the principal's data scope (`scope_filter`, and
  `scope_clause` / `scope_params` / `scope_shape` for statements built once per shape).
- tokens.py: access tokens (sign, decode, claims) and the JWKS key set.
- verifiers.py: the services' async and the gateway's sync verifier, with the cache of tokens
  already verified (`VerifiedTokens`).

`Scope` itself lives in `salesgrid_common.scopes` (pure: domain code names scopes from there)."""
