"""One store per aggregate: the modules that map between ORM rows and domain objects, load in
the caller's scope and load pages in batches, so a new column touches one store."""
