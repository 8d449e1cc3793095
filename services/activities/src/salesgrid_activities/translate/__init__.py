"""Domain records -> proto (and request fields -> values) for the activities servicers, so the servicers stay thin."""
