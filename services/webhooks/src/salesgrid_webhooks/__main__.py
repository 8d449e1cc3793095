"""`python -m salesgrid_webhooks serve|migrate`."""

import sys

from salesgrid_common.cli import run_service_cli
from salesgrid_webhooks.settings import WebhooksSettings
from salesgrid_webhooks.app import DEFINITION, MIGRATIONS

if __name__ == "__main__":
    sys.exit(run_service_cli(DEFINITION, MIGRATIONS, settings_cls=WebhooksSettings))
