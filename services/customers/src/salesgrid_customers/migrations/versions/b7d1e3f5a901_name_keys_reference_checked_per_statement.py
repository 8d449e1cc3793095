"""name keys: on PostgreSQL, their reference to customers checked once per statement

The foreign key customer_name_keys.customer_id -> customers.id made PostgreSQL run one
referential check (an index probe and a FOR KEY SHARE lock of the customer) per key row: a
dozen per customer, about 80 µs of server CPU per imported customer, a fifth of its import
work. The same guarantee -- no name key refers to a customer that does not exist, at any commit --
is kept by triggers instead:

- writing keys (INSERT or UPDATE of customer_name_keys): one statement-level check that every
  written key's customer exists (one anti-join over the statement's new rows);
- removing a customer (DELETE, or a change of its id): the remover first takes a SHARE lock on
  customer_name_keys, so it waits for every transaction writing keys to end, then refuses if a
  key of a removed customer exists. A key writer that comes after the removal waits for the
  remover's lock and then no longer finds the customer. This replaces the foreign key's row locks
  (which every key write paid) by a table lock that only removals take: the services never
  delete a customer (merges and deactivation keep the row), so nothing waits on it in practice.

Both checks raise foreign_key_violation (SQLSTATE 23503), as the foreign key did. They rely on
READ COMMITTED (the services' isolation level): each check's query sees what has committed.
SQLite keeps the foreign key: there its check is an in-process index lookup per row, and it
already meets the import's budget.

Revision ID: b7d1e3f5a901
Revises: c4a2e1000001
Create Date: 2026-12-05 20:15:00
"""

from alembic import op

revision = "b7d1e3f5a901"
down_revision = "c4a2e1000001"
branch_labels = None
depends_on = None

_FOREIGN_KEY = "customer_name_keys_customer_id_fkey"  # PostgreSQL's name for the unnamed constraint

_UPGRADE = [
    """
CREATE FUNCTION customer_name_keys_have_customers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (
    SELECT 1 FROM written_name_keys k WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = k.customer_id)
  ) THEN
    RAISE EXCEPTION 'a name key refers to a customer that does not exist'
      USING ERRCODE = 'foreign_key_violation', TABLE = 'customer_name_keys';
  END IF;
  RETURN NULL;
END $$
""",
    """
CREATE TRIGGER customer_name_keys_inserted_have_customers AFTER INSERT ON customer_name_keys
  REFERENCING NEW TABLE AS written_name_keys
  FOR EACH STATEMENT EXECUTE FUNCTION customer_name_keys_have_customers()
""",
    """
CREATE TRIGGER customer_name_keys_updated_have_customers AFTER UPDATE ON customer_name_keys
  REFERENCING NEW TABLE AS written_name_keys
  FOR EACH STATEMENT EXECUTE FUNCTION customer_name_keys_have_customers()
""",
    """
CREATE FUNCTION customers_removed_have_no_name_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Wait for the transactions writing name keys; a later one waits for this one.
  LOCK TABLE customer_name_keys IN SHARE MODE;
  IF TG_LEVEL = 'ROW' THEN
    IF OLD.id IS DISTINCT FROM NEW.id AND EXISTS (SELECT 1 FROM customer_name_keys k WHERE k.customer_id = OLD.id) THEN
      RAISE EXCEPTION 'customer % still has name keys', OLD.id
        USING ERRCODE = 'foreign_key_violation', TABLE = 'customers';
    END IF;
    RETURN NULL;
  END IF;
  IF EXISTS (SELECT 1 FROM customer_name_keys k JOIN removed_customers c ON c.id = k.customer_id) THEN
    RAISE EXCEPTION 'a removed customer still has name keys'
      USING ERRCODE = 'foreign_key_violation', TABLE = 'customers';
  END IF;
  RETURN NULL;
END $$
""",
    """
CREATE TRIGGER customers_deleted_have_no_name_keys AFTER DELETE ON customers
  REFERENCING OLD TABLE AS removed_customers
  FOR EACH STATEMENT EXECUTE FUNCTION customers_removed_have_no_name_keys()
""",
    # Only an UPDATE that sets the id fires it (the services never do), not every customer update.
    """
CREATE TRIGGER customers_id_changed_have_no_name_keys AFTER UPDATE OF id ON customers
  FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id)
  EXECUTE FUNCTION customers_removed_have_no_name_keys()
""",
]

_DOWNGRADE = [
    "DROP TRIGGER customers_id_changed_have_no_name_keys ON customers",
    "DROP TRIGGER customers_deleted_have_no_name_keys ON customers",
    "DROP FUNCTION customers_removed_have_no_name_keys()",
    "DROP TRIGGER customer_name_keys_updated_have_customers ON customer_name_keys",
    "DROP TRIGGER customer_name_keys_inserted_have_customers ON customer_name_keys",
    "DROP FUNCTION customer_name_keys_have_customers()",
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_constraint(_FOREIGN_KEY, "customer_name_keys", type_="foreignkey")
    for statement in _UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in _DOWNGRADE:
        op.execute(statement)
    op.create_foreign_key(_FOREIGN_KEY, "customer_name_keys", "customers", ["customer_id"], ["id"])
