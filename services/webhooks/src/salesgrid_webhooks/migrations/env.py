from salesgrid_common.directory_tables import directory_metadata
from salesgrid_common.events.tables import event_metadata
from salesgrid_common.idempotency.keys import idempotency_metadata
from salesgrid_common.migrations import run_env
from salesgrid_webhooks.models import Base

run_env([Base.metadata, event_metadata, directory_metadata, idempotency_metadata])
