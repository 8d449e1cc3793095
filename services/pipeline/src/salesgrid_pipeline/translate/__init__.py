"""Proto <-> domain translation of the pipeline servicers, one module per topic, so the servicers stay thin."""
