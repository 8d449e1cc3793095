"""Domain records -> proto for the identity servicers, so the servicers stay thin."""
