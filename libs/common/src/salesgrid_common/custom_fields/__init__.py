"""Custom fields (自定义字段): administrators define typed fields on the records a service owns
(customers, contacts, leads, opportunities, contracts).

- definitions.py, values.py: the pure rules -- what a definition may be, how a value of each type is
  validated and stored (canonical JSON), how a value is indexed and filtered. No database.
- tables.py: the definitions and the value index, in the database of each service owning an entity.
- registry.py: defining, changing, archiving and deleting definitions (events
  `salesgrid.<service>.custom_field.*`).
- records.py: what the owning service's use cases call on a write (`apply_values`), a list
  (`filter_clauses`) and an import or export (`load_definitions`).
- servicer.py: salesgrid.common.v1.CustomFields, registered by every owning service.

The service owning an entity owns its field definitions: values are validated in the same
transaction as the record, against the definitions in the same database (no replica to wait for,
no cross-service call). Removing a field never loses data: archiving hides it from new writes and
keeps every stored value (read, filtered, exported); deleting is refused while any value exists."""
