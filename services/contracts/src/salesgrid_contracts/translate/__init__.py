"""Domain / stored records -> proto for the contracts servicers, one module per topic, so the servicers stay thin."""
