"""The declarative REST layer: route table (table.py), schemas from proto descriptors (schema.py), generated views (views.py), input parsing (inputs.py)."""
