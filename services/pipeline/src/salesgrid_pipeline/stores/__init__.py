"""One store per aggregate: the only modules that map between ORM rows and domain objects
(`from_row` / `to_row`), load in the caller's scope, save with the version check and load pages
in batches. Use cases read "load -> domain step -> save -> emit"; a new column touches one store."""
