from salesgrid_common.custom_fields.tables import custom_field_metadata
from salesgrid_common.customer_merges import merges_metadata
from salesgrid_common.directory_tables import directory_metadata
from salesgrid_common.events.tables import event_metadata
from salesgrid_common.exports.tables import export_metadata
from salesgrid_common.idempotency.keys import idempotency_metadata
from salesgrid_common.migrations import run_env
from salesgrid_customers.models import Base

run_env(
    [
        Base.metadata,
        event_metadata,
        directory_metadata,
        export_metadata,
        merges_metadata,
        custom_field_metadata,
        idempotency_metadata,
    ]
)
