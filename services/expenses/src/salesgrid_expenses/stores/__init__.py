"""One store per aggregate: the only code that maps its rows to domain objects and back."""
