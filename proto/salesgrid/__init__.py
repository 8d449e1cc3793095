"""Generated Salesgrid contracts (run `make proto`); the .proto files beside them are the source of truth."""
