"""One store per aggregate: the only modules that map between ORM rows and domain objects
(`from_row` / `to_row`) and hold the queries; use cases read "load -> domain step -> save".
The facts (factstore) and the published stage models (stage_models) keep their own modules."""
