"""One store per aggregate: the only code that maps its rows to domain objects and back, loads it
within the caller's scope and saves it under its version."""
