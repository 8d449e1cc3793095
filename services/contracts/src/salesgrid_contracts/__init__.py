"""Salesgrid contracts service: products, price lists, contracts, approvals, payments, receivables."""
