"""Developer tooling: embedded platform runner and test infrastructure."""
