"""Money is the shared kernel's (salesgrid_common.money): one class, one ISO-4217 table."""

from salesgrid_common.money import Money, money_of, parse_decimal, parse_money, sum_money, to_decimal

__all__ = ["Money", "money_of", "parse_decimal", "parse_money", "sum_money", "to_decimal"]
